// The shape of an error: what a wrong tensor has in common with the expected one.
//
// A failing test that only quotes "element [1, 4] is 0.23, expected 0.93" leaves the learner
// to find the pattern. describe_difference() finds it, for any answer, without knowing the
// mistake: every element off by one factor (and which simple factor: 1/sqrt(8), 2, -1, ...),
// the transpose, rows or columns in another order or shifted by one, each row scaled or
// shifted by its own constant (a normalisation or a subtraction missing), NaN or inf and
// where they start, rows never written, the right values in the wrong order, or, when none
// of these fits, exactly which rows, columns, heads or diagonal band are wrong.
#pragma once

#include <xtensor/xtensor.hpp>

#include <cstddef>
#include <string>
#include <vector>

namespace attn::test {

/// Plain words for how `actual` differs from `expected` (same shape): a first line that
/// says what is wrong, then lines that say where. Empty when every element lies within
/// `tolerance`. For a 3-d tensor `[n, rows, cols]` the leading index is called `slice_name`
/// ("head" for `[n_heads, T, d_head]`, "sequence" for a batch). With `column_block` > 0 the columns come in blocks of
/// that width, one head each (`[T, n_heads * d_head]`), and wrong columns are named by head.
/// With `patterns` false, no pattern is looked for: only where the elements differ.
template <std::size_t N>
std::string describe_difference(const xt::xtensor<float, N>& actual,
                                const xt::xtensor<float, N>& expected, float tolerance,
                                const std::string& slice_name = "slice",
                                std::size_t column_block = 0, bool patterns = true);

/// Words for a shape that differs from the expected one: transposed, one row or column short,
/// the right number of elements in another arrangement. Empty when no pattern fits.
std::string describe_shape_difference(const std::vector<std::size_t>& actual,
                                      const std::vector<std::size_t>& expected);

/// A number in its simplest exact-looking form, when it is one: "2", "1/2", "sqrt(8)",
/// "1/sqrt(8)", "-1"; empty otherwise.
std::string simple_factor(double k);

/// The two tensors row by row, side by side, under the titles "yours" and "expected".
template <std::size_t N>
std::string side_by_side(const xt::xtensor<float, N>& actual,
                         const xt::xtensor<float, N>& expected);

}  // namespace attn::test
