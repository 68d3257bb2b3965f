/// \file
/// \brief Line plots as SVG files for the book: one x axis, one or more named series.
///
/// The plot places its own legend: inside the frame, in a corner that no line or point
/// crosses (else the middle of an edge, or the centre), or below the plot when none is
/// empty. Every figure stays inside its own
/// width, whatever the series' names. A log axis labels its decades, or 1-2-5 steps, or
/// every integer multiple of a decade, whichever first gives at least three labels.
#pragma once

#include "common/tensor.hpp"

#include <filesystem>
#include <string>
#include <vector>

namespace attn {

/// How a series is drawn.
enum class SeriesStyle {
    line_and_points,  ///< a line through the values and a dot on each (the default)
    line,             ///< a line only: a curve sampled finely, e.g. a model's formula
    points,           ///< dots only: measurements that a line would join misleadingly
    dashed,           ///< a dashed line only: a bound or a reference, drawn lighter
};

/// One line of a plot: its name (shown in the legend) and one y value per x value.
struct Series {
    std::string name;                                  ///< shown in the legend
    std::vector<double> y;                             ///< one value per x
    SeriesStyle style = SeriesStyle::line_and_points;  ///< how it is drawn
    /// The series' own x values, one per y; empty: the plot's `x`. A curve computed from a
    /// formula is sampled at many more points than were measured.
    std::vector<double> x = {};
};

/// A point the plot marks and labels, e.g. where a curve bends: a ring around it, its
/// label beside it, and a dotted line down to the x axis.
struct PlotMark {
    double x = 0;       ///< where, in the data's units
    double y = 0;       ///< where, in the data's units
    std::string label;  ///< e.g. "bend: B = 5"
};

/// The axes of a plot and what it marks.
struct PlotOptions {
    bool log_x = false;           ///< the x axis on a log scale (every x must then be > 0)
    bool log_y = false;           ///< the y axis on a log scale (every y must then be > 0)
    std::vector<PlotMark> marks;  ///< points marked and labelled
};

/// Writes a line plot to `path`: the series against `x` (or their own x), with labelled
/// axes, ticks, a legend and a title. Throws std::invalid_argument when there is no x value
/// or no series, a series does not have one y per x, or a value is not finite (or not
/// positive on a log scale); std::runtime_error when it cannot write.
void write_svg_line_plot(const std::filesystem::path& path, const std::vector<double>& x,
                         const std::vector<Series>& series, const std::string& title,
                         const std::string& x_label, const std::string& y_label,
                         const PlotOptions& options);

/// The same, with linear axes, or `log_y` for a log scale on y.
void write_svg_line_plot(const std::filesystem::path& path, const std::vector<double>& x,
                         const std::vector<Series>& series, const std::string& title,
                         const std::string& x_label, const std::string& y_label,
                         bool log_y = false);

/// The values a log axis over [lo, hi] (lo > 0) labels: every decade when at least three
/// fall inside (every second or more when there are many), else the 1-2-5 steps, else every
/// integer multiple of a decade, else round values in even steps: never fewer than three.
std::vector<double> log_axis_ticks(double lo, double hi);

}  // namespace attn
