#include "common/heatmap.hpp"

#include "common/shape.hpp"

#include <unistd.h>
#include <algorithm>
#include <array>
#include <cmath>
#include <cstdlib>
#include <fstream>
#include <ostream>

namespace attn {

namespace {

struct Rgb {
    int r, g, b;
};

// A sequential white-to-blue scale (the colours of ColorBrewer's "Blues").
Rgb color_for(float weight) {
    static constexpr std::array<Rgb, 5> stops{
        {{247, 251, 255}, {198, 219, 239}, {107, 174, 214}, {33, 113, 181}, {8, 48, 107}}};
    if (!std::isfinite(weight)) return {255, 0, 255};  // NaN stands out instead of hiding
    const float t = std::clamp(weight, 0.0f, 1.0f) * (stops.size() - 1);
    const std::size_t i = std::min<std::size_t>(static_cast<std::size_t>(t), stops.size() - 2);
    const float f = t - static_cast<float>(i);
    auto mix = [f](int a, int b) { return static_cast<int>(std::lround(a + f * (b - a))); };
    return {mix(stops[i].r, stops[i + 1].r), mix(stops[i].g, stops[i + 1].g),
            mix(stops[i].b, stops[i + 1].b)};
}

bool is_dark(float weight) {
    return std::isfinite(weight) && weight > 0.5f;
}

void check_labels(const char* function, const Matrix& weights, const Tokens& queries,
                  const Tokens& keys) {
    check_shape(function, "weights", weights, {any("T_q"), any("T_k")});
    check_shape(function, "weights", weights,
                {exactly("T_q = queries.size()", queries.size()),
                 exactly("T_k = keys.size()", keys.size())});
}

std::string fixed2(float x) {
    if (!std::isfinite(x)) return std::isnan(x) ? "nan" : (x > 0 ? "inf" : "-inf");
    char buffer[32];
    std::snprintf(buffer, sizeof buffer, "%.2f", static_cast<double>(x));
    return buffer;
}

std::string pad(const std::string& s, std::size_t width, bool left) {
    if (s.size() >= width) return s;
    return left ? std::string(width - s.size(), ' ') + s : s + std::string(width - s.size(), ' ');
}

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

}  // namespace

bool color_enabled(std::FILE* stream) {
    const char* no_color = std::getenv("NO_COLOR");
    if (no_color != nullptr && no_color[0] != '\0') return false;
    const char* term = std::getenv("TERM");
    if (term != nullptr && std::string(term) == "dumb") return false;
    return ::isatty(::fileno(stream)) == 1;
}

void print_heatmap(std::ostream& out, const Matrix& weights, const Tokens& queries,
                   const Tokens& keys, bool color) {
    check_labels("attn::print_heatmap", weights, queries, keys);
    std::size_t label_width = 0;
    for (const auto& q : queries) label_width = std::max(label_width, q.size());
    std::size_t cell = 6;
    for (const auto& k : keys) cell = std::max(cell, k.size() + 1);

    out << "  " << pad("", label_width, false) << ' ';
    for (const auto& k : keys) out << pad(k, cell, true);
    out << "   (rows: queries, columns: keys)\n";
    static const std::array<const char*, 5> shades{" ", "\u2591", "\u2592", "\u2593", "\u2588"};
    for (std::size_t i = 0; i < weights.shape(0); ++i) {
        out << "  " << pad(queries[i], label_width, false) << ' ';
        for (std::size_t j = 0; j < weights.shape(1); ++j) {
            const float w = weights(i, j);
            const std::string text = fixed2(w);
            if (color) {
                const Rgb c = color_for(w);
                out << "\x1b[48;2;" << c.r << ';' << c.g << ';' << c.b << 'm'
                    << (is_dark(w) ? "\x1b[97m" : "\x1b[30m") << pad(text, cell, true) << "\x1b[0m";
            } else {
                const float clamped = std::isfinite(w) ? std::clamp(w, 0.0f, 1.0f) : 0.0f;
                const auto shade = static_cast<std::size_t>(std::lround(clamped * 4.0f));
                out << pad(text, cell - 1, true) << shades[shade];
            }
        }
        out << '\n';
    }
}

void write_svg_heatmap(const std::filesystem::path& path, const Matrix& weights,
                       const Tokens& queries, const Tokens& keys, const std::string& title) {
    check_labels("attn::write_svg_heatmap", weights, queries, keys);
    constexpr int cell = 44, char_width = 8, title_height = 34, legend_gap = 24, legend_width = 14;
    std::size_t longest_query = 0, longest_key = 0;
    for (const auto& q : queries) longest_query = std::max(longest_query, q.size());
    for (const auto& k : keys) longest_key = std::max(longest_key, k.size());
    const int left = 36 + static_cast<int>(longest_query) * char_width;
    const int top = title_height + 28 + static_cast<int>(longest_key) * char_width * 7 / 10;
    const int rows = static_cast<int>(queries.size()), cols = static_cast<int>(keys.size());
    const int grid_w = cols * cell, grid_h = rows * cell;
    const int width = left + grid_w + legend_gap + legend_width + 40;
    const int height = top + grid_h + 36;

    if (path.has_parent_path()) {
        std::error_code error;
        std::filesystem::create_directories(path.parent_path(), error);
        if (error) {
            throw std::runtime_error("attn::write_svg_heatmap: cannot create the directory " +
                                     path.parent_path().string() + ": " + error.message());
        }
    }
    std::ofstream svg(path);
    if (!svg) throw std::runtime_error("attn::write_svg_heatmap: cannot write " + path.string());

    svg << "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"" << width << "\" height=\"" << height
        << "\" viewBox=\"0 0 " << width << ' ' << height
        << "\" font-family=\"DejaVu Sans, Helvetica, Arial, sans-serif\" font-size=\"13\">\n"
        << "<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n"
        << "<text x=\"" << width / 2
        << "\" y=\"22\" text-anchor=\"middle\" font-size=\"15\" font-weight=\"bold\">"
        << xml_escape(title) << "</text>\n"
        << "<text x=\"" << left + grid_w / 2 << "\" y=\"" << title_height + 12
        << "\" text-anchor=\"middle\" fill=\"#555\">keys (attended to)</text>\n"
        << "<text transform=\"translate(14," << top + grid_h / 2
        << ") rotate(-90)\" text-anchor=\"middle\" fill=\"#555\">queries (attending)</text>\n";
    for (int j = 0; j < cols; ++j) {
        const int x = left + j * cell + cell / 2;
        svg << "<text transform=\"translate(" << x << ',' << top - 6 << ") rotate(-45)\">"
            << xml_escape(keys[static_cast<std::size_t>(j)]) << "</text>\n";
    }
    for (int i = 0; i < rows; ++i) {
        const int y = top + i * cell + cell / 2 + 5;
        svg << "<text x=\"" << left - 6 << "\" y=\"" << y << "\" text-anchor=\"end\">"
            << xml_escape(queries[static_cast<std::size_t>(i)]) << "</text>\n";
        for (int j = 0; j < cols; ++j) {
            const float w = weights(static_cast<std::size_t>(i), static_cast<std::size_t>(j));
            const Rgb c = color_for(w);
            svg << "<rect x=\"" << left + j * cell << "\" y=\"" << top + i * cell << "\" width=\""
                << cell << "\" height=\"" << cell << "\" fill=\"rgb(" << c.r << ',' << c.g << ','
                << c.b << ")\" stroke=\"white\"/>"
                << "<text x=\"" << left + j * cell + cell / 2 << "\" y=\"" << y
                << "\" text-anchor=\"middle\" font-size=\"11\" fill=\""
                << (is_dark(w) ? "white" : "#222") << "\">" << fixed2(w) << "</text>\n";
        }
    }
    // Colour scale: 0 at the bottom, 1 at the top.
    const int lx = left + grid_w + legend_gap;
    constexpr int steps = 20;
    for (int s = 0; s < steps; ++s) {
        const Rgb c = color_for(1.0f - (static_cast<float>(s) + 0.5f) / steps);
        svg << "<rect x=\"" << lx << "\" y=\"" << top + s * grid_h / steps << "\" width=\""
            << legend_width << "\" height=\"" << grid_h / steps + 1 << "\" fill=\"rgb(" << c.r
            << ',' << c.g << ',' << c.b << ")\"/>\n";
    }
    svg << "<rect x=\"" << lx << "\" y=\"" << top << "\" width=\"" << legend_width << "\" height=\""
        << grid_h << "\" fill=\"none\" stroke=\"#999\"/>\n"
        << "<text x=\"" << lx + legend_width + 4 << "\" y=\"" << top + 10 << "\">1</text>\n"
        << "<text x=\"" << lx + legend_width + 4 << "\" y=\"" << top + grid_h << "\">0</text>\n"
        << "</svg>\n";
    if (!svg)
        throw std::runtime_error("attn::write_svg_heatmap: failed while writing " + path.string());
}

}  // namespace attn
