#include "common/svg.hpp"

#include <stdexcept>
#include <system_error>

namespace attn {

std::string xml_escape(const std::string& s) {
    std::string out;
    for (char c : s) {
        switch (c) {
            case '&':
                out += "&amp;";
                break;
            case '<':
                out += "&lt;";
                break;
            case '>':
                out += "&gt;";
                break;
            case '"':
                out += "&quot;";
                break;
            default:
                out += c;
        }
    }
    return out;
}

std::ofstream open_svg(const char* function, const std::filesystem::path& path) {
    if (path.has_parent_path()) {
        std::error_code error;
        std::filesystem::create_directories(path.parent_path(), error);
        if (error) {
            throw std::runtime_error(std::string(function) + ": cannot create the directory " +
                                     path.parent_path().string() + ": " + error.message());
        }
    }
    std::ofstream svg(path);
    if (!svg) throw std::runtime_error(std::string(function) + ": cannot write " + path.string());
    return svg;
}

}  // namespace attn
