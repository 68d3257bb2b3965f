/// \file
/// \brief Attention heatmaps: ANSI colour in the terminal, SVG files for the book.
///
/// Rows are queries, columns are keys, and both axes carry the tokens' names, so the
/// reader sees which word looks at which. Weights are in [0, 1]: white is 0, dark blue is 1.
#pragma once

#include "common/tensor.hpp"

#include <cstdio>
#include <filesystem>
#include <iosfwd>
#include <optional>
#include <string>
#include <vector>

namespace attn {

/// True when `stream` is a terminal and the NO_COLOR environment variable is not set
/// (https://no-color.org). Output redirected to a file or a pipe is plain text.
bool color_enabled(std::FILE* stream = stdout);

/// Prints `weights` `[T_q, T_k]` as a heatmap. With `color`, each cell is a block whose
/// background shows the weight; without, each cell shows the number and a shade
/// character (` ` `░` `▒` `▓` `█`) so the pattern is still visible in plain text.
/// Throws std::invalid_argument when the labels do not match the matrix.
void print_heatmap(std::ostream& out, const Matrix& weights, const Tokens& queries,
                   const Tokens& keys, bool color);

/// Writes `weights` `[T_q, T_k]` as an SVG heatmap to `path`, with the title on top, query
/// tokens on the left, key tokens along the top, each cell's value, and a colour scale;
/// at most 800 px wide (a long sentence gets smaller cells).
/// Creates the parent directory if needed. Throws std::runtime_error when it cannot write,
/// std::invalid_argument when the labels do not match the matrix.
void write_svg_heatmap(const std::filesystem::path& path, const Matrix& weights,
                       const Tokens& queries, const Tokens& keys, const std::string& title);

/// How write_svg_heatmaps() lays out its panels. A figure is at most `max_width` px wide,
/// the width of the book's text column, so it never scrolls: panels first get smaller
/// cells (down to a size whose numbers can still be read), then wrap into more rows.
struct HeatmapGrid {
    std::size_t columns = 2;  ///< panels per row at most; fewer when they would not fit
    int max_width = 800;      ///< the figure's width at most, in px
    /// One panel to draw large, with its numbers and tokens, and the others beside or below
    /// it as small multiples: colour only, under their titles, so the reader sees at a
    /// glance what the featured one does that the others do not. Empty: all the same size.
    std::optional<std::size_t> featured = std::nullopt;
};

/// Writes several heatmaps of the same tokens as one SVG, e.g. the heads of one layer:
/// panels in rows of at most `grid.columns`, each under its own title, one colour scale;
/// or, with `grid.featured`, one panel large and the others small. The figure is never
/// wider than `grid.max_width` (see HeatmapGrid).
/// Throws std::invalid_argument when there is no panel, the titles are not one per panel,
/// `grid.columns` is 0, `grid.featured` is not a panel, `grid.max_width` is below 200 px or a
/// panel does not match the labels; std::runtime_error when it cannot write.
void write_svg_heatmaps(const std::filesystem::path& path, const std::vector<Matrix>& panels,
                        const Tokens& queries, const Tokens& keys, const Tokens& panel_titles,
                        const std::string& title, const HeatmapGrid& grid);

/// The same with `columns` panels per row at most, within the book's column (800 px).
void write_svg_heatmaps(const std::filesystem::path& path, const std::vector<Matrix>& panels,
                        const Tokens& queries, const Tokens& keys, const Tokens& panel_titles,
                        const std::string& title, std::size_t columns);

}  // namespace attn
