/// \file
/// \brief Printing vectors and matrices with token labels, section headings, and long messages.
#pragma once

#include "common/tensor.hpp"

#include <iosfwd>
#include <string>
#include <string_view>

namespace attn {

/// Formats a vector as `[0.10, 0.20, 0.70]` with `precision` digits after the point.
std::string format_vector(const Vector& v, int precision = 2);

/// Prints a vector as one labelled row per element when `labels` are given
/// (`dog  0.41`), else on one line. Throws std::invalid_argument when labels are given but
/// their count differs from the vector's size.
void print_vector(std::ostream& out, const Vector& v, const Tokens& labels = {}, int precision = 2);

/// Prints a matrix as a table: one row per `row_labels` entry, one column per
/// `col_labels` entry (rows: queries, columns: keys). Empty labels print indices; labels
/// of the wrong count throw std::invalid_argument.
void print_matrix(std::ostream& out, const Matrix& m, const Tokens& row_labels = {},
                  const Tokens& col_labels = {}, int precision = 2);

/// Prints a mask as a table: `■` where the query (row) may see the key (column), `·`
/// where it may not. Labels as in print_matrix().
void print_mask(std::ostream& out, const Mask& allowed, const Tokens& row_labels = {},
                const Tokens& col_labels = {});

/// A text broken at its spaces into lines of at most `width` columns, the lines after the
/// first indented by two spaces, for a long message such as an error's. A word longer than
/// a line gets a line of its own.
std::string wrap(std::string_view text, std::size_t width = 88);

/// Prints a section heading `## title`. The book's weave step uses these headings to put
/// each part of a chapter program's output under the section of the text that produced it.
void section(std::ostream& out, std::string_view title);

}  // namespace attn
