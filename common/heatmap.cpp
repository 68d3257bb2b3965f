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

    // What the axes are: after the keys, or above them where that line would be wider than
    // a page's column of program output (90 characters).
    const std::string axes = "(rows: queries, columns: keys)";
    const bool beside = 3 + label_width + keys.size() * cell + 3 + axes.size() <= 90;
    if (!beside) out << "  " << axes << '\n';
    out << "  " << pad("", label_width, false) << ' ';
    for (const auto& k : keys) out << pad(k, cell, true);
    out << (beside ? "   " + axes : "") << '\n';
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

constexpr int full_cell = 44, readable_cell = 30, svg_char_width = 8, svg_legend_gap = 24,
              svg_legend_width = 14, legend_room = svg_legend_gap + svg_legend_width + 26,
              title_height = 34, gap = 28, small_gap = 16;

// The size of one panel: its labels, its grid, and (when it has one) its title. A small
// multiple (not `labelled`) is its title and its grid, nothing else.
struct PanelLayout {
    int left, top, grid_w, grid_h, cell;
    bool labelled;
    int title_w = 0;
    int width() const { return std::max(left + grid_w, title_w); }
    int height() const { return top + grid_h; }
    bool numbers() const { return labelled && cell >= readable_cell; }
};

PanelLayout panel_layout(const Tokens& queries, const Tokens& keys, bool titled, int cell) {
    std::size_t longest_query = 0, longest_key = 0;
    for (const auto& q : queries) longest_query = std::max(longest_query, q.size());
    for (const auto& k : keys) longest_key = std::max(longest_key, k.size());
    return {36 + static_cast<int>(longest_query) * svg_char_width,
            (titled ? 24 : 0) + 28 + static_cast<int>(longest_key) * svg_char_width * 7 / 10,
            static_cast<int>(keys.size()) * cell,
            static_cast<int>(queries.size()) * cell,
            cell,
            true};
}

// A small multiple: cells of at most 16 px, a grid of about 120 px, its title in 11 px.
PanelLayout small_layout(const Tokens& queries, const Tokens& keys, const Tokens& titles) {
    const int longest = static_cast<int>(std::max(queries.size(), keys.size()));
    const int cell = std::clamp(120 / longest, 4, 16);
    double title_w = 0;
    for (const auto& t : titles) title_w = std::max(title_w, text_width(t, 11));
    return {
        0,    18,    static_cast<int>(keys.size()) * cell, static_cast<int>(queries.size()) * cell,
        cell, false, static_cast<int>(std::ceil(title_w))};
}

// One heatmap with its axis labels (or, small, only its title), its top-left corner at
// (x0, y0).
void draw_panel(std::ostream& svg, int x0, int y0, const PanelLayout& l, const Matrix& weights,
                const Tokens& queries, const Tokens& keys, const std::string& title) {
    const int left = x0 + l.left, top = y0 + l.top;
    if (!l.labelled) {
        svg_text(svg, x0 + l.width() / 2.0, y0 + 12, title,
                 "text-anchor=\"middle\" font-size=\"11\" fill=\"#333\"");
        const int grid_x = x0 + (l.width() - l.grid_w) / 2;
        for (std::size_t i = 0; i < queries.size(); ++i)
            for (std::size_t j = 0; j < keys.size(); ++j) {
                const Rgb c = color_for(weights(i, j));
                svg << "<rect x=\"" << grid_x + static_cast<int>(j) * l.cell << "\" y=\""
                    << top + static_cast<int>(i) * l.cell << "\" width=\"" << l.cell
                    << "\" height=\"" << l.cell << "\" fill=\"rgb(" << c.r << ',' << c.g << ','
                    << c.b << ")\"/>\n";
            }
        svg << "<rect x=\"" << grid_x << "\" y=\"" << top << "\" width=\"" << l.grid_w
            << "\" height=\"" << l.grid_h << "\" fill=\"none\" stroke=\"#bbb\"/>\n";
        return;
    }
    if (!title.empty()) {
        svg_text(svg, left + l.grid_w / 2.0, y0 + 16, title,
                 "text-anchor=\"middle\" font-weight=\"bold\"");
    }
    svg_text(svg, left + l.grid_w / 2.0, y0 + (title.empty() ? 12 : 36), "keys (attended to)",
             "text-anchor=\"middle\" fill=\"#555\"");
    svg << "<text transform=\"translate(" << x0 + 14 << "," << top + l.grid_h / 2
        << ") rotate(-90)\" text-anchor=\"middle\" fill=\"#555\">queries (attending)</text>\n";
    for (std::size_t j = 0; j < keys.size(); ++j) {
        const int x = left + static_cast<int>(j) * l.cell + l.cell / 2;
        svg << "<text transform=\"translate(" << x << ',' << top - 6 << ") rotate(-45)\">"
            << xml_escape(keys[j]) << "</text>\n";
    }
    const int font = l.cell >= 40 ? 11 : 10;
    for (std::size_t i = 0; i < queries.size(); ++i) {
        const int y = top + static_cast<int>(i) * l.cell;
        svg_text(svg, left - 6, y + l.cell / 2 + 5, queries[i], "text-anchor=\"end\"");
        for (std::size_t j = 0; j < keys.size(); ++j) {
            const int x = left + static_cast<int>(j) * l.cell;
            const float w = weights(i, j);
            const Rgb c = color_for(w);
            svg << "<rect x=\"" << x << "\" y=\"" << y << "\" width=\"" << l.cell << "\" height=\""
                << l.cell << "\" fill=\"rgb(" << c.r << ',' << c.g << ',' << c.b
                << ")\" stroke=\"white\"/>";
            if (l.numbers())
                svg << "<text x=\"" << x + l.cell / 2 << "\" y=\"" << y + l.cell / 2 + 4
                    << "\" text-anchor=\"middle\" font-size=\"" << font << "\" fill=\""
                    << (is_dark(w) ? "white" : "#222") << "\">" << fixed2(w) << "</text>";
            svg << '\n';
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

// Where each panel goes and how large it is drawn.
struct Placement {
    int x0, y0;
    const PanelLayout* layout;
};

// Panels in rows of at most `columns`, under one title, with one colour scale, within
// `max_width`: full-size cells while they fit, then smaller ones down to readable_cell, then
// fewer panels per row; a panel too wide alone gets cells smaller still, without numbers.
void write_panels(const char* function, const std::filesystem::path& path,
                  const std::vector<Matrix>& panels, const Tokens& queries, const Tokens& keys,
                  const Tokens& panel_titles, const std::string& title, std::size_t columns,
                  int max_width) {
    const bool titled = !panel_titles.empty();
    const auto row_width = [&](int cols, int cell) {
        return cols * panel_layout(queries, keys, titled, cell).width() + (cols - 1) * gap +
               legend_room;
    };
    int cols = static_cast<int>(std::min(columns, panels.size())), cell = full_cell;
    for (;; --cols) {
        for (cell = full_cell; cell > readable_cell && row_width(cols, cell) > max_width;) --cell;
        if (row_width(cols, cell) <= max_width || cols == 1) break;
    }
    while (cell > 2 && row_width(cols, cell) > max_width) --cell;
    const PanelLayout l = panel_layout(queries, keys, titled, cell);
    const int rows = (static_cast<int>(panels.size()) + cols - 1) / cols;
    const int grid_right = cols * l.width() + (cols - 1) * gap;
    const int width = grid_right + legend_room;
    const int height = title_height + rows * l.height() + (rows - 1) * gap + 36;

    std::ofstream svg = begin_svg(function, path, width, height);
    svg_text(svg, width / 2.0, 22, title,
             "text-anchor=\"middle\" font-size=\"15\" font-weight=\"bold\"");
    for (std::size_t p = 0; p < panels.size(); ++p) {
        const int x0 = static_cast<int>(p) % cols * (l.width() + gap);
        const int y0 = title_height + static_cast<int>(p) / cols * (l.height() + gap);
        draw_panel(svg, x0, y0, l, panels[p], queries, keys, titled ? panel_titles[p] : "");
    }
    draw_legend(svg, grid_right + svg_legend_gap, title_height + l.top, l.grid_h);
    end_svg(svg, function, path);
}

// The featured panel large, with its colour scale; the others as small multiples to its
// right when they fit beside it, else in rows below it.
void write_featured(const char* function, const std::filesystem::path& path,
                    const std::vector<Matrix>& panels, const Tokens& queries, const Tokens& keys,
                    const Tokens& panel_titles, const std::string& title, std::size_t featured,
                    int max_width) {
    int cell = full_cell;
    while (cell > 2 && panel_layout(queries, keys, true, cell).width() + legend_room > max_width)
        --cell;
    const PanelLayout big = panel_layout(queries, keys, true, cell);
    Tokens small_titles;
    for (std::size_t p = 0; p < panels.size(); ++p)
        if (p != featured) small_titles.push_back(panel_titles[p]);
    const PanelLayout small = small_layout(queries, keys, small_titles);
    const int n_small = static_cast<int>(small_titles.size());
    const int beside_x = big.width() + legend_room + small_gap;
    const int beside_cols =
        std::max(0, (max_width - beside_x - 8 + small_gap) / (small.width() + small_gap));
    const int beside_rows = (big.height() + small_gap) / (small.height() + small_gap);
    const bool beside = beside_cols >= 1 && beside_cols * beside_rows >= n_small;
    constexpr int margin = 8;  // between a small multiple and the figure's edge
    const int cols =
        beside ? std::max(1, (n_small + beside_rows - 1) / std::max(1, beside_rows))
               : std::max(1, (max_width - 2 * margin + small_gap) / (small.width() + small_gap));
    const int origin_x = beside ? beside_x : margin;
    const int origin_y = title_height + (beside ? big.top : big.height() + gap);
    int width = big.width() + legend_room, height = title_height + big.height() + 36;
    std::vector<std::array<int, 2>> corners;
    for (int i = 0; i < n_small; ++i) {
        const int x0 = origin_x + i % cols * (small.width() + small_gap);
        const int y0 = origin_y + i / cols * (small.height() + small_gap);
        corners.push_back({x0, y0});
        width = std::max(width, x0 + small.width() + margin);
        height = std::max(height, y0 + small.height() + 24);
    }

    std::ofstream svg = begin_svg(function, path, width, height);
    svg_text(svg, width / 2.0, 22, title,
             "text-anchor=\"middle\" font-size=\"15\" font-weight=\"bold\"");
    draw_panel(svg, 0, title_height, big, panels[featured], queries, keys, panel_titles[featured]);
    draw_legend(svg, big.width() + svg_legend_gap, title_height + big.top, big.grid_h);
    for (std::size_t p = 0, i = 0; p < panels.size(); ++p) {
        if (p == featured) continue;
        draw_panel(svg, corners[i][0], corners[i][1], small, panels[p], queries, keys,
                   panel_titles[p]);
        ++i;
    }
    end_svg(svg, function, path);
}

}  // namespace

void write_svg_heatmap(const std::filesystem::path& path, const Matrix& weights,
                       const Tokens& queries, const Tokens& keys, const std::string& title) {
    check_labels("attn::write_svg_heatmap", weights, queries, keys);
    write_panels("attn::write_svg_heatmap", path, {weights}, queries, keys, {}, title, 1, 800);
}

void write_svg_heatmaps(const std::filesystem::path& path, const std::vector<Matrix>& panels,
                        const Tokens& queries, const Tokens& keys, const Tokens& panel_titles,
                        const std::string& title, const HeatmapGrid& grid) {
    constexpr const char* fn = "attn::write_svg_heatmaps";
    if (panels.empty()) invalid_argument(fn, "argument 'panels' must hold at least one heatmap");
    if (panel_titles.size() != panels.size()) {
        invalid_argument(fn, "argument 'panel_titles' must have one title per panel (" +
                                 std::to_string(panels.size()) + "), but has " +
                                 std::to_string(panel_titles.size()));
    }
    if (grid.columns == 0)
        invalid_argument(fn, "argument 'grid.columns' must be at least 1, got 0");
    if (grid.max_width < 200) {
        invalid_argument(fn, "argument 'grid.max_width' must be at least 200 px, got " +
                                 std::to_string(grid.max_width));
    }
    if (grid.featured && *grid.featured >= panels.size()) {
        invalid_argument(fn, "argument 'grid.featured' must be a panel, 0.." +
                                 std::to_string(panels.size() - 1) +
                                 ", got featured = " + std::to_string(*grid.featured));
    }
    for (const Matrix& panel : panels) check_labels(fn, panel, queries, keys);
    if (grid.featured && panels.size() > 1)
        write_featured(fn, path, panels, queries, keys, panel_titles, title, *grid.featured,
                       grid.max_width);
    else
        write_panels(fn, path, panels, queries, keys, panel_titles, title, grid.columns,
                     grid.max_width);
}

void write_svg_heatmaps(const std::filesystem::path& path, const std::vector<Matrix>& panels,
                        const Tokens& queries, const Tokens& keys, const Tokens& panel_titles,
                        const std::string& title, std::size_t columns) {
    write_svg_heatmaps(path, panels, queries, keys, panel_titles, title, HeatmapGrid{columns});
}

}  // namespace attn
