#include "common/quote.hpp"

#include "common/shape.hpp"

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <stdexcept>

namespace attn {

std::string quote(std::string_view name, std::string_view text) {
    const bool name_ok = !name.empty() && std::all_of(name.begin(), name.end(), [](char c) {
        return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_';
    });
    if (!name_ok)
        invalid_argument(
            "quote", "the name must be made of a-z, 0-9 and _; got \"" + std::string(name) + "\"");
    if (text.find_first_of("\t\n\r") != std::string_view::npos)
        invalid_argument("quote",
                         "the text of " + std::string(name) + " holds a tab or a line break");
    if (const char* file = std::getenv("ATTN_BOOK_VALUES"); file && *file) {
        std::ofstream out(file, std::ios::app);
        out << name << '\t' << text << '\n';
        if (!out) throw std::runtime_error("quote: cannot append to " + std::string(file));
    }
    return std::string(text);
}

std::string quote(std::string_view name, double value, int precision) {
    char buffer[64];
    std::snprintf(buffer, sizeof buffer, "%.*f", precision, value);
    return quote(name, buffer);
}

}  // namespace attn
