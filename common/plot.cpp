#include "common/plot.hpp"

#include "common/shape.hpp"
#include "common/svg.hpp"

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <stdexcept>

namespace attn {

namespace {

std::string number(double v) {
    char buffer[32];
    std::snprintf(buffer, sizeof buffer, "%g", v);
    return buffer;
}

// About five round tick values covering [lo, hi].
std::vector<double> ticks(double lo, double hi) {
    const double raw = (hi - lo) / 5.0;
    const double magnitude = std::pow(10.0, std::floor(std::log10(raw)));
    double step = magnitude;
    for (double m : {1.0, 2.0, 5.0, 10.0})
        if (raw <= m * magnitude) {
            step = m * magnitude;
            break;
        }
    std::vector<double> out;
    for (double t = std::ceil(lo / step) * step; t <= hi + step * 1e-9; t += step) out.push_back(t);
    return out;
}

}  // namespace

void write_svg_line_plot(const std::filesystem::path& path, const std::vector<double>& x,
                         const std::vector<Series>& series, const std::string& title,
                         const std::string& x_label, const std::string& y_label, bool log_y) {
    constexpr const char* fn = "attn::write_svg_line_plot";
    if (x.empty()) invalid_argument(fn, "argument 'x' holds no value");
    if (series.empty()) invalid_argument(fn, "argument 'series' holds no line");
    double y_lo = INFINITY, y_hi = -INFINITY;
    for (const Series& s : series) {
        if (s.y.size() != x.size()) {
            invalid_argument(fn, "series '" + s.name + "' has " + std::to_string(s.y.size()) +
                                     " values, but x has " + std::to_string(x.size()));
        }
        for (double v : s.y) {
            if (!std::isfinite(v) || (log_y && v <= 0)) {
                invalid_argument(
                    fn, "series '" + s.name + "' holds " + number(v) +
                            (log_y ? ", which a log scale cannot show" : ", not a number"));
            }
            const double t = log_y ? std::log10(v) : v;
            y_lo = std::min(y_lo, t);
            y_hi = std::max(y_hi, t);
        }
    }
    for (double v : x)
        if (!std::isfinite(v)) invalid_argument(fn, "argument 'x' holds " + number(v));
    const auto [x_min, x_max] = std::minmax_element(x.begin(), x.end());
    double x_lo = *x_min, x_hi = *x_max;
    if (x_hi == x_lo) x_hi = x_lo + 1;
    if (!log_y) y_lo = std::min(y_lo, 0.0);
    if (y_hi == y_lo) y_hi = y_lo + 1;
    const double pad = (y_hi - y_lo) * 0.05;
    y_hi += pad;
    if (log_y) y_lo -= pad;

    constexpr int width = 720, height = 420, left = 80, right = 200, top = 48, bottom = 60;
    const int plot_w = width - left - right, plot_h = height - top - bottom;
    const auto px = [&](double v) { return left + (v - x_lo) / (x_hi - x_lo) * plot_w; };
    const auto py = [&](double v) {
        const double t = log_y ? std::log10(v) : v;
        return top + plot_h - (t - y_lo) / (y_hi - y_lo) * plot_h;
    };

    std::ofstream svg = open_svg(fn, path);
    svg << "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"" << width << "\" height=\"" << height
        << "\" viewBox=\"0 0 " << width << ' ' << height
        << "\" font-family=\"DejaVu Sans, Helvetica, Arial, sans-serif\" font-size=\"13\">\n"
        << "<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n"
        << "<text x=\"" << left + plot_w / 2
        << "\" y=\"24\" text-anchor=\"middle\" font-size=\"15\" "
        << "font-weight=\"bold\">" << xml_escape(title) << "</text>\n";
    // Grid, ticks and axis labels.
    for (double t : ticks(x_lo, x_hi)) {
        svg << "<line x1=\"" << px(t) << "\" y1=\"" << top << "\" x2=\"" << px(t) << "\" y2=\""
            << top + plot_h << "\" stroke=\"#eee\"/>\n<text x=\"" << px(t) << "\" y=\""
            << top + plot_h + 18 << "\" text-anchor=\"middle\">" << number(t) << "</text>\n";
    }
    for (double t : ticks(y_lo, y_hi)) {
        const double v = log_y ? std::pow(10.0, t) : t;
        if (log_y && std::fabs(t - std::round(t)) > 1e-9) continue;  // decades only
        svg << "<line x1=\"" << left << "\" y1=\"" << py(v) << "\" x2=\"" << left + plot_w
            << "\" y2=\"" << py(v) << "\" stroke=\"#eee\"/>\n<text x=\"" << left - 8 << "\" y=\""
            << py(v) + 4 << "\" text-anchor=\"end\">" << number(v) << "</text>\n";
    }
    svg << "<rect x=\"" << left << "\" y=\"" << top << "\" width=\"" << plot_w << "\" height=\""
        << plot_h << "\" fill=\"none\" stroke=\"#999\"/>\n"
        << "<text x=\"" << left + plot_w / 2 << "\" y=\"" << height - 16
        << "\" text-anchor=\"middle\" fill=\"#333\">" << xml_escape(x_label) << "</text>\n"
        << "<text transform=\"translate(18," << top + plot_h / 2
        << ") rotate(-90)\" text-anchor=\"middle\" fill=\"#333\">" << xml_escape(y_label)
        << "</text>\n";
    // The series, each in its own colour, with a legend on the right.
    static const std::array<const char*, 6> colours{"#1f5fa8", "#d2691e", "#2e8b57",
                                                    "#8b1a1a", "#6a3d9a", "#555555"};
    for (std::size_t s = 0; s < series.size(); ++s) {
        const char* colour = colours[s % colours.size()];
        svg << "<polyline fill=\"none\" stroke=\"" << colour << "\" stroke-width=\"2\" points=\"";
        for (std::size_t i = 0; i < x.size(); ++i)
            svg << (i ? " " : "") << px(x[i]) << ',' << py(series[s].y[i]);
        svg << "\"/>\n";
        for (std::size_t i = 0; i < x.size(); ++i)
            svg << "<circle cx=\"" << px(x[i]) << "\" cy=\"" << py(series[s].y[i])
                << "\" r=\"3\" fill=\"" << colour << "\"/>\n";
        const int ly = top + 10 + static_cast<int>(s) * 22;
        svg << "<line x1=\"" << left + plot_w + 16 << "\" y1=\"" << ly << "\" x2=\""
            << left + plot_w + 40 << "\" y2=\"" << ly << "\" stroke=\"" << colour
            << "\" stroke-width=\"2\"/>\n<text x=\"" << left + plot_w + 46 << "\" y=\"" << ly + 4
            << "\">" << xml_escape(series[s].name) << "</text>\n";
    }
    svg << "</svg>\n";
    if (!svg) throw std::runtime_error(std::string(fn) + ": failed while writing " + path.string());
}

}  // namespace attn
