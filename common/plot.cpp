#include "common/plot.hpp"

#include "common/shape.hpp"
#include "common/svg.hpp"

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <functional>
#include <optional>
#include <stdexcept>

namespace attn {

namespace {

// A tick label: %g, with the exponent written short (1e6, not 1e+06).
std::string number(double v) {
    char buffer[32];
    std::snprintf(buffer, sizeof buffer, "%g", v);
    std::string s = buffer;
    if (const std::size_t e = s.find('e'); e != std::string::npos) {
        std::string exponent = s.substr(e + 1);
        const bool negative = exponent[0] == '-';
        exponent.erase(0, exponent.find_first_not_of("+-0"));
        s = s.substr(0, e) + 'e' + (negative ? "-" : "") + exponent;
    }
    return s;
}

// Round tick values covering [lo, hi] in even steps of 1, 2 or 5 times a power of ten:
// about five, never fewer than three.
std::vector<double> linear_ticks(double lo, double hi) {
    const double raw = (hi - lo) / 5.0;
    const double magnitude = std::pow(10.0, std::floor(std::log10(raw)));
    double step = magnitude;
    for (double m : {1.0, 2.0, 5.0, 10.0})
        if (raw <= m * magnitude) {
            step = m * magnitude;
            break;
        }
    std::vector<double> out;
    for (;;) {
        out.clear();
        for (double t = std::ceil(lo / step - 1e-9) * step; t <= hi + step * 1e-9; t += step)
            out.push_back(std::fabs(t) < step * 1e-9 ? 0.0 : t);
        if (out.size() >= 3) return out;
        step /= 2;
    }
}

struct Box {
    double x0, y0, x1, y1;
    bool contains(double x, double y) const { return x >= x0 && x <= x1 && y >= y0 && y <= y1; }
    bool inside(const Box& o) const { return x0 >= o.x0 && x1 <= o.x1 && y0 >= o.y0 && y1 <= o.y1; }
};

// Points every 2 px along each drawn line, and each dot: what a legend or a label must
// not cover.
struct Obstacles {
    std::vector<std::array<double, 2>> points;
    int count_in(const Box& b, double margin) const {
        const Box grown{b.x0 - margin, b.y0 - margin, b.x1 + margin, b.y1 + margin};
        int n = 0;
        for (const auto& p : points) n += grown.contains(p[0], p[1]);
        return n;
    }
};

// Which tick labels to write: each takes the interval `extent(t)` along its axis, and a
// label that would overlap one already kept is left out. On a log axis the decades are kept
// first, then the 2s and 5s, then the rest, so that "1" never gives way to "0.9".
std::vector<bool> labels_that_fit(const std::vector<double>& ticks, bool log,
                                  const std::function<std::array<double, 2>(double)>& extent) {
    const auto rank = [&](double t) {
        if (!log) return 0;
        const double mantissa = t / std::pow(10.0, std::floor(std::log10(t) + 1e-9));
        const auto is = [&](double m) { return std::fabs(mantissa - m) < 1e-6; };
        return is(1) ? 0 : is(2) || is(5) ? 1 : 2;
    };
    std::vector<std::size_t> order(ticks.size());
    for (std::size_t i = 0; i < order.size(); ++i) order[i] = i;
    std::stable_sort(order.begin(), order.end(),
                     [&](std::size_t a, std::size_t b) { return rank(ticks[a]) < rank(ticks[b]); });
    std::vector<bool> kept(ticks.size(), false);
    std::vector<std::array<double, 2>> taken;
    for (std::size_t i : order) {
        const std::array<double, 2> e = extent(ticks[i]);
        bool free = true;
        for (const auto& o : taken) free = free && (e[1] <= o[0] || e[0] >= o[1]);
        if (!free) continue;
        kept[i] = true;
        taken.push_back(e);
    }
    return kept;
}

std::vector<std::string> wrap_title(const std::string& title, double room) {
    if (text_width(title, 15, true) <= room) return {title};
    // Two lines, broken at the space nearest the middle.
    std::size_t best = std::string::npos;
    for (std::size_t i = title.find(' '); i != std::string::npos; i = title.find(' ', i + 1)) {
        const auto off = [&](std::size_t j) {
            return std::fabs(static_cast<double>(j) - static_cast<double>(title.size()) / 2);
        };
        if (best == std::string::npos || off(i) < off(best)) best = i;
    }
    if (best == std::string::npos) return {title};
    return {title.substr(0, best), title.substr(best + 1)};
}

}  // namespace

std::vector<double> log_axis_ticks(double lo, double hi) {
    if (!(lo > 0) || !(hi >= lo)) {
        invalid_argument("attn::log_axis_ticks",
                         "needs 0 < lo <= hi, got lo = " + number(lo) + ", hi = " + number(hi));
    }
    const double a = std::log10(lo), b = std::log10(hi);
    const auto within = [&](const std::vector<double>& multiples) {
        std::vector<double> out;
        for (double e = std::floor(a); e <= std::ceil(b); ++e)
            for (double m : multiples) {
                const double v = m * std::pow(10.0, e), t = std::log10(v);
                if (t >= a - 1e-9 && t <= b + 1e-9) out.push_back(v);
            }
        return out;
    };
    std::vector<double> decades = within({1});
    if (decades.size() >= 3) {
        const std::size_t every = (decades.size() + 7) / 8;  // at most 8 labels
        std::vector<double> out;
        for (std::size_t i = 0; i < decades.size(); i += every) out.push_back(decades[i]);
        return out.size() >= 3 ? out : decades;
    }
    for (const std::vector<double>& multiples :
         {std::vector<double>{1, 2, 5}, std::vector<double>{1, 2, 3, 4, 5, 6, 7, 8, 9}}) {
        std::vector<double> out = within(multiples);
        if (out.size() >= 3) return out;
    }
    return linear_ticks(lo, hi);  // narrower than a factor of two: even steps look even
}

void write_svg_line_plot(const std::filesystem::path& path, const std::vector<double>& x,
                         const std::vector<Series>& series, const std::string& title,
                         const std::string& x_label, const std::string& y_label, bool log_y) {
    PlotOptions options;
    options.log_y = log_y;
    write_svg_line_plot(path, x, series, title, x_label, y_label, options);
}

void write_svg_line_plot(const std::filesystem::path& path, const std::vector<double>& x,
                         const std::vector<Series>& series, const std::string& title,
                         const std::string& x_label, const std::string& y_label,
                         const PlotOptions& options) {
    constexpr const char* fn = "attn::write_svg_line_plot";
    const bool log_x = options.log_x, log_y = options.log_y;
    if (x.empty()) invalid_argument(fn, "argument 'x' holds no value");
    if (series.empty()) invalid_argument(fn, "argument 'series' holds no line");
    const auto check = [&](const std::string& what, double v, bool log) {
        if (!std::isfinite(v) || (log && v <= 0)) {
            invalid_argument(fn, what + " holds " + number(v) +
                                     (log ? ", which a log scale cannot show" : ", not a number"));
        }
    };
    for (double v : x) check("argument 'x'", v, log_x);
    // Everything drawn, in the axes' own units (log10 on a log axis), for the ranges.
    double x_lo = INFINITY, x_hi = -INFINITY, y_lo = INFINITY, y_hi = -INFINITY;
    const auto extend = [&](double vx, double vy) {
        const double tx = log_x ? std::log10(vx) : vx, ty = log_y ? std::log10(vy) : vy;
        x_lo = std::min(x_lo, tx);
        x_hi = std::max(x_hi, tx);
        y_lo = std::min(y_lo, ty);
        y_hi = std::max(y_hi, ty);
    };
    for (const Series& s : series) {
        const std::vector<double>& sx = s.x.empty() ? x : s.x;
        if (s.y.size() != sx.size()) {
            invalid_argument(fn, "series '" + s.name + "' has " + std::to_string(s.y.size()) +
                                     " values, but " + (s.x.empty() ? "x" : "its own x") + " has " +
                                     std::to_string(sx.size()));
        }
        for (double v : s.x) check("series '" + s.name + "''s x", v, log_x);
        for (double v : s.y) check("series '" + s.name + "'", v, log_y);
        for (std::size_t i = 0; i < sx.size(); ++i) extend(sx[i], s.y[i]);
    }
    for (const PlotMark& m : options.marks) {
        check("mark '" + m.label + "'", m.x, log_x);
        check("mark '" + m.label + "'", m.y, log_y);
        extend(m.x, m.y);
    }
    if (x_hi == x_lo) x_hi = x_lo + 1;
    if (!log_y) y_lo = std::min(y_lo, 0.0);
    if (y_hi == y_lo) y_hi = y_lo + 1;
    const double pad = (y_hi - y_lo) * 0.05;
    y_hi += pad;
    if (log_y) y_lo -= pad;
    if (log_x) {
        const double x_pad = (x_hi - x_lo) * 0.03;
        x_lo -= x_pad;
        x_hi += x_pad;
    }
    const auto untransform = [](double t, bool log) { return log ? std::pow(10.0, t) : t; };
    const std::vector<double> x_ticks =
        log_x ? log_axis_ticks(untransform(x_lo, true), untransform(x_hi, true))
              : linear_ticks(x_lo, x_hi);
    const std::vector<double> y_ticks =
        log_y ? log_axis_ticks(untransform(y_lo, true), untransform(y_hi, true))
              : linear_ticks(y_lo, y_hi);

    // The frame: room on the left for the widest y tick label and the axis's name.
    constexpr int width = 720, right = 30, bottom = 60, row = 20;
    double widest = 0;
    for (double t : y_ticks) widest = std::max(widest, text_width(number(t), 13));
    const int left = std::max(70, 30 + static_cast<int>(std::ceil(widest)) + 14);
    const std::vector<std::string> title_lines = wrap_title(title, width - 20);
    const int top = 28 + 20 * static_cast<int>(title_lines.size());
    const int plot_w = width - left - right, plot_h = 312;
    const auto px = [&](double v) {
        return left + ((log_x ? std::log10(v) : v) - x_lo) / (x_hi - x_lo) * plot_w;
    };
    const auto py = [&](double v) {
        return top + plot_h - ((log_y ? std::log10(v) : v) - y_lo) / (y_hi - y_lo) * plot_h;
    };
    const Box frame{static_cast<double>(left), static_cast<double>(top),
                    static_cast<double>(left + plot_w), static_cast<double>(top + plot_h)};

    static const std::array<const char*, 6> colours{"#1f5fa8", "#d2691e", "#2e8b57",
                                                    "#8b1a1a", "#6a3d9a", "#555555"};
    const auto colour = [&](std::size_t s) { return colours[s % colours.size()]; };
    const auto has_line = [](const Series& s) { return s.style != SeriesStyle::points; };
    const auto has_dots = [](const Series& s) {
        return s.style == SeriesStyle::line_and_points || s.style == SeriesStyle::points;
    };

    // What the legend and the marks' labels must not cover.
    Obstacles obstacles;
    for (const Series& s : series) {
        const std::vector<double>& sx = s.x.empty() ? x : s.x;
        for (std::size_t i = 0; i < sx.size(); ++i) {
            const double x1 = px(sx[i]), y1 = py(s.y[i]);
            obstacles.points.push_back({x1, y1});
            if (i == 0 || !has_line(s)) continue;
            const double x0 = px(sx[i - 1]), y0 = py(s.y[i - 1]);
            const int n = static_cast<int>(std::hypot(x1 - x0, y1 - y0) / 2) + 1;
            for (int k = 1; k < n; ++k) {
                const double f = static_cast<double>(k) / n;
                obstacles.points.push_back({x0 + f * (x1 - x0), y0 + f * (y1 - y0)});
            }
        }
    }
    // Each mark's label: beside its ring, on the side where it fits and covers least.
    struct PlacedMark {
        double cx, cy;
        Box label;
        bool anchor_end;
    };
    std::vector<PlacedMark> placed;
    for (const PlotMark& m : options.marks) {
        const double cx = px(m.x), cy = py(m.y), w = text_width(m.label, 12), h = 15;
        PlacedMark best{cx, cy, {}, false};
        int best_count = -1;
        for (int side = 0; side < 4; ++side) {
            const bool left_side = side >= 2, above = side % 2 == 1;
            const double x0 = left_side ? cx - 10 - w : cx + 10;
            const double y0 = above ? cy - 10 - h : cy + 10;
            const Box b{x0, y0, x0 + w, y0 + h};
            const int count = b.inside(frame) ? obstacles.count_in(b, 3) : 1 << 20;
            if (best_count < 0 || count < best_count) {
                best_count = count;
                best = {cx, cy, b, left_side};
            }
        }
        placed.push_back(best);
        for (double gx = best.label.x0; gx <= best.label.x1; gx += 4)
            for (double gy = best.label.y0; gy <= best.label.y1; gy += 4)
                obstacles.points.push_back({gx, gy});
        for (double gy = cy - 7; gy <= top + plot_h; gy += 2) obstacles.points.push_back({cx, gy});
    }

    // The legend: inside the frame in the first corner nothing crosses (or the middle of an
    // edge, or the centre); else below the plot.
    double name_w = 0;
    for (const Series& s : series) name_w = std::max(name_w, text_width(s.name, 13));
    const double legend_w = 8 + 26 + 6 + name_w + 8;
    const double legend_h = 6 + row * static_cast<double>(series.size()) + 2;
    std::optional<Box> legend;
    const double inset = 8;
    for (const auto& [fx, fy] : std::array<std::array<double, 2>, 9>{{{1, 0},
                                                                      {0, 0},
                                                                      {1, 1},
                                                                      {0, 1},
                                                                      {0.5, 0},
                                                                      {0.5, 1},
                                                                      {1, 0.5},
                                                                      {0, 0.5},
                                                                      {0.5, 0.5}}}) {
        const double x0 = frame.x0 + inset + fx * (plot_w - 2 * inset - legend_w);
        const double y0 = frame.y0 + inset + fy * (plot_h - 2 * inset - legend_h);
        const Box b{x0, y0, x0 + legend_w, y0 + legend_h};
        if (legend_w <= plot_w - 2 * inset && legend_h <= plot_h - 2 * inset &&
            obstacles.count_in(b, 4) == 0) {
            legend = b;
            break;
        }
    }
    // Below: the entries in as many columns of equal width as the frame's width holds.
    std::vector<std::array<double, 2>> below;  // each entry's left end and baseline
    int height = top + plot_h + bottom;
    if (!legend) {
        const double column_w = 26 + 6 + name_w + 18;
        const std::size_t columns =
            std::max<std::size_t>(1, static_cast<std::size_t>((plot_w + 18) / column_w));
        for (std::size_t s = 0; s < series.size(); ++s)
            below.push_back({left + static_cast<double>(s % columns) * column_w,
                             top + plot_h + bottom + 4 + static_cast<double>(s / columns) * row});
        height = static_cast<int>(below.back()[1]) + 14;
    }

    std::ofstream svg = begin_svg(fn, path, width, height);
    for (std::size_t i = 0; i < title_lines.size(); ++i)
        svg_text(svg, width / 2.0, 24 + 20 * static_cast<double>(i), title_lines[i],
                 "text-anchor=\"middle\" font-size=\"15\" font-weight=\"bold\"");
    // Grid, ticks and axis labels. Where two labels would touch, the rounder one stays.
    const std::vector<bool> x_shown = labels_that_fit(x_ticks, log_x, [&](double t) {
        const double half = text_width(number(t), 13) / 2 + 3;
        return std::array<double, 2>{px(t) - half, px(t) + half};
    });
    for (std::size_t i = 0; i < x_ticks.size(); ++i) {
        const double x0 = px(x_ticks[i]);
        svg << "<line x1=\"" << x0 << "\" y1=\"" << top << "\" x2=\"" << x0 << "\" y2=\""
            << top + plot_h << "\" stroke=\"#eee\"/>\n";
        if (x_shown[i])
            svg_text(svg, x0, top + plot_h + 18, number(x_ticks[i]), "text-anchor=\"middle\"");
    }
    const std::vector<bool> y_shown = labels_that_fit(y_ticks, log_y, [&](double t) {
        return std::array<double, 2>{py(t) - 10, py(t) + 10};
    });
    for (std::size_t i = 0; i < y_ticks.size(); ++i) {
        const double y0 = py(y_ticks[i]);
        svg << "<line x1=\"" << left << "\" y1=\"" << y0 << "\" x2=\"" << left + plot_w
            << "\" y2=\"" << y0 << "\" stroke=\"#eee\"/>\n";
        if (y_shown[i]) svg_text(svg, left - 8, y0 + 4, number(y_ticks[i]), "text-anchor=\"end\"");
    }
    svg << "<rect x=\"" << left << "\" y=\"" << top << "\" width=\"" << plot_w << "\" height=\""
        << plot_h << "\" fill=\"none\" stroke=\"#999\"/>\n";
    svg_text(svg, left + plot_w / 2.0, top + plot_h + 44, x_label,
             "text-anchor=\"middle\" fill=\"#333\"");
    svg << "<text transform=\"translate(18," << top + plot_h / 2
        << ") rotate(-90)\" text-anchor=\"middle\" fill=\"#333\">" << xml_escape(y_label)
        << "</text>\n";
    // The series, each in its own colour.
    const auto stroke = [&](std::size_t s) {
        const bool dashed = series[s].style == SeriesStyle::dashed;
        return std::string("stroke=\"") + colour(s) + "\" stroke-width=\"" +
               (dashed ? "1.5\" stroke-dasharray=\"6 4\"" : "2\"");
    };
    // Bounds first, then lines, then dots, so that a measurement is never hidden.
    std::vector<std::size_t> order(series.size());
    for (std::size_t s = 0; s < order.size(); ++s) order[s] = s;
    std::stable_sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) {
        const auto rank = [&](std::size_t s) {
            return series[s].style == SeriesStyle::dashed ? 0
                   : series[s].style == SeriesStyle::line ? 1
                                                          : 2;
        };
        return rank(a) < rank(b);
    });
    for (std::size_t s : order) {
        const std::vector<double>& sx = series[s].x.empty() ? x : series[s].x;
        if (has_line(series[s])) {
            svg << "<polyline fill=\"none\" " << stroke(s) << " points=\"";
            for (std::size_t i = 0; i < sx.size(); ++i)
                svg << (i ? " " : "") << px(sx[i]) << ',' << py(series[s].y[i]);
            svg << "\"/>\n";
        }
        if (has_dots(series[s])) {
            const double r = series[s].style == SeriesStyle::points ? 4 : 3;
            for (std::size_t i = 0; i < sx.size(); ++i)
                svg << "<circle cx=\"" << px(sx[i]) << "\" cy=\"" << py(series[s].y[i]) << "\" r=\""
                    << r << "\" fill=\"" << colour(s) << "\"/>\n";
        }
    }
    for (std::size_t i = 0; i < placed.size(); ++i) {
        const PlacedMark& m = placed[i];
        svg << "<line x1=\"" << m.cx << "\" y1=\"" << m.cy + 7 << "\" x2=\"" << m.cx << "\" y2=\""
            << top + plot_h << "\" stroke=\"#333\" stroke-dasharray=\"2 3\"/>\n"
            << "<circle cx=\"" << m.cx << "\" cy=\"" << m.cy
            << "\" r=\"7\" fill=\"none\" stroke=\"#333\" stroke-width=\"1.5\"/>\n";
        svg_text(svg, m.anchor_end ? m.label.x1 : m.label.x0, m.label.y1 - 3,
                 options.marks[i].label,
                 std::string("font-size=\"12\" fill=\"#222\"") +
                     (m.anchor_end ? " text-anchor=\"end\"" : ""));
    }
    // The legend's entries: a swatch drawn as the series is, and its name.
    const auto entry = [&](std::size_t s, double ex, double ey) {
        if (has_line(series[s])) {
            svg << "<line x1=\"" << ex << "\" y1=\"" << ey << "\" x2=\"" << ex + 26 << "\" y2=\""
                << ey << "\" " << stroke(s) << "/>\n";
        }
        if (has_dots(series[s])) {
            svg << "<circle cx=\"" << ex + 13 << "\" cy=\"" << ey << "\" r=\"3.5\" fill=\""
                << colour(s) << "\"/>\n";
        }
        svg_text(svg, ex + 32, ey + 4, series[s].name);
    };
    if (legend) {
        svg << "<rect x=\"" << legend->x0 << "\" y=\"" << legend->y0 << "\" width=\"" << legend_w
            << "\" height=\"" << legend_h
            << "\" fill=\"white\" fill-opacity=\"0.9\" stroke=\"#ccc\" rx=\"3\"/>\n";
        for (std::size_t s = 0; s < series.size(); ++s)
            entry(s, legend->x0 + 8, legend->y0 + 6 + row * (static_cast<double>(s) + 0.5));
    } else {
        for (std::size_t s = 0; s < series.size(); ++s) entry(s, below[s][0], below[s][1]);
    }
    end_svg(svg, fn, path);
}

}  // namespace attn
