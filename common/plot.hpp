/// \file
/// \brief Line plots as SVG files for the book: one x axis, one or more named series.
#pragma once

#include "common/tensor.hpp"

#include <filesystem>
#include <string>
#include <vector>

namespace attn {

/// One line of a plot: its name (shown in the legend) and one y value per x value.
struct Series {
    std::string name;       ///< shown in the legend
    std::vector<double> y;  ///< one value per x
};

/// Writes a line plot to `path`: the series against `x`, with labelled axes, ticks, a
/// legend and a title. `log_y` puts the y axis on a log scale (every y must then be > 0).
/// Throws std::invalid_argument when there is no x value or no series, a series does not
/// have one y per x, or a value is not finite (or not positive on a log scale);
/// std::runtime_error when it cannot write.
void write_svg_line_plot(const std::filesystem::path& path, const std::vector<double>& x,
                         const std::vector<Series>& series, const std::string& title,
                         const std::string& x_label, const std::string& y_label,
                         bool log_y = false);

}  // namespace attn
