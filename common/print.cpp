#include "common/print.hpp"

#include "common/shape.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <ostream>

namespace attn {

namespace {

std::string format_number(float x, int precision) {
    if (std::isnan(x)) return "nan";  // the sign of a NaN means nothing
    char buffer[64];
    std::snprintf(buffer, sizeof buffer, "%.*f", precision, static_cast<double>(x));
    return buffer;
}

std::string pad_left(const std::string& s, std::size_t width) {
    return s.size() >= width ? s : std::string(width - s.size(), ' ') + s;
}

std::string pad_right(const std::string& s, std::size_t width) {
    return s.size() >= width ? s : s + std::string(width - s.size(), ' ');
}

// The labels, or "0", "1", ... when none are given; labels of the wrong count are a bug.
Tokens labels_or_indices(const char* function, const char* argument, const Tokens& labels,
                         std::size_t n) {
    if (labels.size() == n) return labels;
    if (!labels.empty()) {
        invalid_argument(function, std::string("argument '") + argument + "' must hold " +
                                       std::to_string(n) + " labels (or none), but holds " +
                                       std::to_string(labels.size()));
    }
    Tokens out;
    for (std::size_t i = 0; i < n; ++i) out.push_back(std::to_string(i));
    return out;
}

std::size_t widest(const Tokens& labels) {
    std::size_t w = 0;
    for (const auto& l : labels) w = std::max(w, l.size());
    return w;
}

}  // namespace

std::string format_vector(const Vector& v, int precision) {
    std::string out = "[";
    for (std::size_t i = 0; i < v.size(); ++i) {
        if (i > 0) out += ", ";
        out += format_number(v(i), precision);
    }
    return out + "]";
}

void print_vector(std::ostream& out, const Vector& v, const Tokens& labels, int precision) {
    if (labels.empty()) {
        out << format_vector(v, precision) << '\n';
        return;
    }
    labels_or_indices("attn::print_vector", "labels", labels, v.size());
    const std::size_t w = widest(labels);
    for (std::size_t i = 0; i < v.size(); ++i) {
        out << "  " << pad_right(labels[i], w) << "  "
            << pad_left(format_number(v(i), precision), precision + 4) << '\n';
    }
}

void print_matrix(std::ostream& out, const Matrix& m, const Tokens& row_labels,
                  const Tokens& col_labels, int precision) {
    const Tokens rows =
        labels_or_indices("attn::print_matrix", "row_labels", row_labels, m.shape(0));
    const Tokens cols =
        labels_or_indices("attn::print_matrix", "col_labels", col_labels, m.shape(1));
    const std::size_t row_width = widest(rows);
    std::size_t cell = static_cast<std::size_t>(precision) + 4;
    for (float x : m) cell = std::max(cell, format_number(x, precision).size() + 1);
    cell = std::max(cell, widest(cols) + 2);  // two spaces keep long headers apart

    out << "  " << std::string(row_width, ' ');
    for (const auto& c : cols) out << pad_left(c, cell);
    out << '\n';
    for (std::size_t i = 0; i < m.shape(0); ++i) {
        out << "  " << pad_right(rows[i], row_width);
        for (std::size_t j = 0; j < m.shape(1); ++j)
            out << pad_left(format_number(m(i, j), precision), cell);
        out << '\n';
    }
}

void print_mask(std::ostream& out, const Mask& allowed, const Tokens& row_labels,
                const Tokens& col_labels) {
    const Tokens rows =
        labels_or_indices("attn::print_mask", "row_labels", row_labels, allowed.shape(0));
    const Tokens cols =
        labels_or_indices("attn::print_mask", "col_labels", col_labels, allowed.shape(1));
    const std::size_t row_width = widest(rows);
    const std::size_t cell = widest(cols) + 1;
    out << "  " << std::string(row_width, ' ');
    for (const auto& c : cols) out << pad_left(c, cell);
    out << '\n';
    for (std::size_t i = 0; i < allowed.shape(0); ++i) {
        out << "  " << pad_right(rows[i], row_width);
        for (std::size_t j = 0; j < allowed.shape(1); ++j)
            out << std::string(cell - 1, ' ') << (allowed(i, j) ? "\u25a0" : "\u00b7");
        out << '\n';
    }
}

void section(std::ostream& out, std::string_view title) {
    out << "\n## " << title << "\n\n";
}

std::string wrap(std::string_view text, std::size_t width) {
    std::string out, line;
    std::size_t start = 0;
    while (start < text.size()) {
        std::size_t end = text.find(' ', start);
        if (end == std::string_view::npos) end = text.size();
        const std::string_view word = text.substr(start, end - start);
        if (!line.empty() && line.size() + 1 + word.size() > width) {
            out += line;
            out += '\n';
            line = "  ";
        } else if (!line.empty()) {
            line += ' ';
        }
        line += word;
        start = end + 1;
    }
    return out + line;
}

}  // namespace attn
