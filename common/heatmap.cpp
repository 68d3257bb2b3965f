#include "common/heatmap.hpp"

#include "common/shape.hpp"
#include "common/svg.hpp"

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

namespace {

constexpr int svg_cell = 44, svg_char_width = 8, svg_legend_gap = 24, svg_legend_width = 14;

// The size of one panel: its labels, its grid, and (when it has one) its title.
struct PanelLayout {
    int left, top, grid_w, grid_h;
    int width() const { return left + grid_w; }
    int height() const { return top + grid_h; }
};

PanelLayout panel_layout(const Tokens& queries, const Tokens& keys, bool titled) {
    std::size_t longest_query = 0, longest_key = 0;
    for (const auto& q : queries) longest_query = std::max(longest_query, q.size());
    for (const auto& k : keys) longest_key = std::max(longest_key, k.size());
    return {36 + static_cast<int>(longest_query) * svg_char_width,
            (titled ? 24 : 0) + 28 + static_cast<int>(longest_key) * svg_char_width * 7 / 10,
            static_cast<int>(keys.size()) * svg_cell, static_cast<int>(queries.size()) * svg_cell};
}

// One heatmap with its axis labels, its top-left corner at (x0, y0).
void draw_panel(std::ostream& svg, int x0, int y0, const PanelLayout& l, const Matrix& weights,
                const Tokens& queries, const Tokens& keys, const std::string& title) {
    const int left = x0 + l.left, top = y0 + l.top;
    if (!title.empty()) {
        svg << "<text x=\"" << left + l.grid_w / 2 << "\" y=\"" << y0 + 16
            << "\" text-anchor=\"middle\" font-weight=\"bold\">" << xml_escape(title)
            << "</text>\n";
    }
    svg << "<text x=\"" << left + l.grid_w / 2 << "\" y=\"" << y0 + (title.empty() ? 12 : 36)
        << "\" text-anchor=\"middle\" fill=\"#555\">keys (attended to)</text>\n"
        << "<text transform=\"translate(" << x0 + 14 << "," << top + l.grid_h / 2
        << ") rotate(-90)\" text-anchor=\"middle\" fill=\"#555\">queries (attending)</text>\n";
    for (std::size_t j = 0; j < keys.size(); ++j) {
        const int x = left + static_cast<int>(j) * svg_cell + svg_cell / 2;
        svg << "<text transform=\"translate(" << x << ',' << top - 6 << ") rotate(-45)\">"
            << xml_escape(keys[j]) << "</text>\n";
    }
    for (std::size_t i = 0; i < queries.size(); ++i) {
        const int y = top + static_cast<int>(i) * svg_cell;
        svg << "<text x=\"" << left - 6 << "\" y=\"" << y + svg_cell / 2 + 5
            << "\" text-anchor=\"end\">" << xml_escape(queries[i]) << "</text>\n";
        for (std::size_t j = 0; j < keys.size(); ++j) {
            const int x = left + static_cast<int>(j) * svg_cell;
            const float w = weights(i, j);
            const Rgb c = color_for(w);
            svg << "<rect x=\"" << x << "\" y=\"" << y << "\" width=\"" << svg_cell
                << "\" height=\"" << svg_cell << "\" fill=\"rgb(" << c.r << ',' << c.g << ',' << c.b
                << ")\" stroke=\"white\"/>"
                << "<text x=\"" << x + svg_cell / 2 << "\" y=\"" << y + svg_cell / 2 + 5
                << "\" text-anchor=\"middle\" font-size=\"11\" fill=\""
                << (is_dark(w) ? "white" : "#222") << "\">" << fixed2(w) << "</text>\n";
        }
    }
}

// The colour scale, 0 at the bottom and 1 at the top, beside a grid at (x, top).
void draw_legend(std::ostream& svg, int x, int top, int height) {
    constexpr int steps = 20;
    for (int s = 0; s < steps; ++s) {
        const Rgb c = color_for(1.0f - (static_cast<float>(s) + 0.5f) / steps);
        svg << "<rect x=\"" << x << "\" y=\"" << top + s * height / steps << "\" width=\""
            << svg_legend_width << "\" height=\"" << height / steps + 1 << "\" fill=\"rgb(" << c.r
            << ',' << c.g << ',' << c.b << ")\"/>\n";
    }
    svg << "<rect x=\"" << x << "\" y=\"" << top << "\" width=\"" << svg_legend_width
        << "\" height=\"" << height << "\" fill=\"none\" stroke=\"#999\"/>\n"
        << "<text x=\"" << x + svg_legend_width + 4 << "\" y=\"" << top + 10 << "\">1</text>\n"
        << "<text x=\"" << x + svg_legend_width + 4 << "\" y=\"" << top + height << "\">0</text>\n";
}

// Panels in a grid of `columns` columns under one title, with one colour scale.
void write_panels(const char* function, const std::filesystem::path& path,
                  const std::vector<Matrix>& panels, const Tokens& queries, const Tokens& keys,
                  const Tokens& panel_titles, const std::string& title, std::size_t columns) {
    constexpr int title_height = 34, gap = 28;
    const bool titled = !panel_titles.empty();
    const PanelLayout l = panel_layout(queries, keys, titled);
    const int cols = static_cast<int>(std::min(columns, panels.size()));
    const int rows = static_cast<int>((panels.size() + columns - 1) / columns);
    const int grid_right = cols * l.width() + (cols - 1) * gap;
    const int width = grid_right + svg_legend_gap + svg_legend_width + 40;
    const int height = title_height + rows * l.height() + (rows - 1) * gap + 36;

    std::ofstream svg = open_svg(function, path);
    svg << "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"" << width << "\" height=\"" << height
        << "\" viewBox=\"0 0 " << width << ' ' << height
        << "\" font-family=\"DejaVu Sans, Helvetica, Arial, sans-serif\" font-size=\"13\">\n"
        << "<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n"
        << "<text x=\"" << width / 2
        << "\" y=\"22\" text-anchor=\"middle\" font-size=\"15\" font-weight=\"bold\">"
        << xml_escape(title) << "</text>\n";
    for (std::size_t p = 0; p < panels.size(); ++p) {
        const int x0 = static_cast<int>(p % columns) * (l.width() + gap);
        const int y0 = title_height + static_cast<int>(p / columns) * (l.height() + gap);
        draw_panel(svg, x0, y0, l, panels[p], queries, keys, titled ? panel_titles[p] : "");
    }
    draw_legend(svg, grid_right + svg_legend_gap, title_height + l.top, l.grid_h);
    svg << "</svg>\n";
    if (!svg)
        throw std::runtime_error(std::string(function) + ": failed while writing " + path.string());
}

}  // namespace

void write_svg_heatmap(const std::filesystem::path& path, const Matrix& weights,
                       const Tokens& queries, const Tokens& keys, const std::string& title) {
    check_labels("attn::write_svg_heatmap", weights, queries, keys);
    write_panels("attn::write_svg_heatmap", path, {weights}, queries, keys, {}, title, 1);
}

void write_svg_heatmaps(const std::filesystem::path& path, const std::vector<Matrix>& panels,
                        const Tokens& queries, const Tokens& keys, const Tokens& panel_titles,
                        const std::string& title, std::size_t columns) {
    constexpr const char* fn = "attn::write_svg_heatmaps";
    if (panels.empty()) invalid_argument(fn, "argument 'panels' must hold at least one heatmap");
    if (panel_titles.size() != panels.size()) {
        invalid_argument(fn, "argument 'panel_titles' must have one title per panel (" +
                                 std::to_string(panels.size()) + "), but has " +
                                 std::to_string(panel_titles.size()));
    }
    if (columns == 0) invalid_argument(fn, "argument 'columns' must be at least 1, got 0");
    for (const Matrix& panel : panels) check_labels(fn, panel, queries, keys);
    write_panels(fn, path, panels, queries, keys, panel_titles, title, columns);
}

}  // namespace attn
