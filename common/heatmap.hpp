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
/// tokens on the left, key tokens along the top, each cell's value, and a colour scale.
/// Creates the parent directory if needed. Throws std::runtime_error when it cannot write,
/// std::invalid_argument when the labels do not match the matrix.
void write_svg_heatmap(const std::filesystem::path& path, const Matrix& weights,
                       const Tokens& queries, const Tokens& keys, const std::string& title);

/// Writes several heatmaps of the same tokens side by side as one SVG, e.g. the heads of
/// one layer: `columns` panels per row, each under its own title, one colour scale.
/// Throws std::invalid_argument when there is no panel, the titles are not one per panel,
/// `columns` is 0 or a panel does not match the labels; std::runtime_error when it cannot
/// write.
void write_svg_heatmaps(const std::filesystem::path& path, const std::vector<Matrix>& panels,
                        const Tokens& queries, const Tokens& keys, const Tokens& panel_titles,
                        const std::string& title, std::size_t columns);

}  // namespace attn
