/// \file
/// \brief Chapter 01 exercises: single-head attention, written by you.
///
/// Each function below is one exercise. Its comment is the task: what to compute, the
/// shapes, a worked example and a hint. Your answer goes in the `.cpp` file named after
/// the exercise in this folder; replace the `throw attn::not_implemented` line.
///
/// Check your answers with `make check CH=01`. Reference answers are in
/// `solutions/01_single_head_attention/`; try first, then compare.
///
/// Every function checks its arguments first: when a shape is wrong it throws
/// std::invalid_argument naming the function, the argument, and the expected and actual
/// shapes. attn::check_shape() does that in one line, e.g.
///
///     attn::check_shape("attn::ex01::dot_scores", "keys", keys, {attn::any("T"),
///     attn::exactly("d_k", query.size())});
#pragma once

#include "common/errors.hpp"
#include "common/shape.hpp"
#include "common/tensor.hpp"

/// Chapter 01 exercises.
namespace attn::ex01 {

/// \brief Exercise 1.1: dot-product scores.
///
/// Score one query against every key: \f$s_j = q \cdot k_j = \sum_i q_i k_{j,i}\f$.
///
/// \param query `[d_k]`
/// \param keys `[T, d_k]`, one key per row
/// \return `[T]`, the raw scores (no scaling: that comes in 1.3)
///
/// Throws std::invalid_argument when `query` is empty or `keys` is not `[T, d_k]` with
/// T >= 1 and the query's d_k.
///
/// Example: query `{1, 0, 2}`, keys `{{1, 1, 1}, {0, 2, 0}, {3, 0, -1}}` give `{3, 0, 1}`.
///
/// Hint: `xt::row(keys, j)` is key j; `xt::sum(a * b)()` is a dot product. Or write the
/// two loops: they are just as fast here.
Vector dot_scores(const Vector& query, const Matrix& keys);

/// \brief Exercise 1.2: stable softmax.
///
/// Turn logits into weights: \f$w_i = e^{x_i - m} / \sum_j e^{x_j - m}\f$ with
/// \f$m = \max_j x_j\f$. Subtracting the maximum does not change the result but keeps
/// every exponent at most 0, so logits like 1e4 do not overflow to inf (and NaN).
///
/// \param logits `[T]`, T >= 1
/// \return `[T]`, non-negative, summing to one
///
/// Throws std::invalid_argument when `logits` is empty.
///
/// Example: `{1, 2, 3}` gives `{0.090, 0.245, 0.665}`; so does `{1001, 1002, 1003}`.
///
/// Hint: `xt::amax(logits)()` is the maximum, `xt::exp` works element-wise, and
/// `xt::sum(e)()` is a plain float you can divide by.
Vector stable_softmax(const Vector& logits);

/// \brief Exercise 1.3: one query attends.
///
/// Put it together: scores, scaled by \f$1/\sqrt{d_k}\f$, softmax, then the weighted sum
/// of the values: \f$o = \sum_j w_j v_j\f$ with \f$w = \mathrm{softmax}(K q / \sqrt{d_k})\f$.
///
/// \param query `[d_k]`
/// \param keys `[T, d_k]`
/// \param values `[T, d_v]`, one value per key
/// \return `[d_v]`, the output for this query
///
/// Throws std::invalid_argument naming attend when `keys` is not `[T, d_k]` for the query's
/// d_k or `values` does not have one row per key.
///
/// Example: query `{1, 2}`, keys `{{1, 0}, {0, 1}, {1, 1}}`, values
/// `{{1, 0, 2}, {0, 3, 1}, {2, 1, 0}}`: scores `{1, 2, 3}`, scaled `{0.707, 1.414, 2.121}`,
/// weights `{0.140, 0.284, 0.576}`, output `{1.292, 1.428, 0.564}`.
///
/// Hint: check the shapes first, here, with check_shape("attn::ex01::attend", ...): the
/// error must name the function the caller called. Then call your own dot_scores() and
/// stable_softmax() from 1.1 and 1.2, and add up `weights(j) * xt::row(values, j)`.
Vector attend(const Vector& query, const Matrix& keys, const Matrix& values);

/// \brief Exercise 1.4: attention weights for every query.
///
/// The weights of many queries at once: \f$W = \mathrm{softmax}(Q K^\top / \sqrt{d_k})\f$,
/// with softmax along each row, so that row i holds query i's weights over the keys.
///
/// \param queries `[T_q, d_k]`, one query per row
/// \param keys `[T_k, d_k]`
/// \return `[T_q, T_k]`, every row summing to one
///
/// Throws std::invalid_argument when either matrix is empty or their d_k differ.
///
/// Example: queries `{{1, 0}, {0, 2}}`, keys `{{1, 0}, {0, 1}, {1, 1}}` give
/// `{{0.401, 0.198, 0.401}, {0.108, 0.446, 0.446}}`.
///
/// Hint: `xt::linalg::dot(queries, xt::transpose(keys))` (from `<xtensor-blas/xlinalg.hpp>`)
/// is \f$Q K^\top\f$; then run a softmax over each row, not each column: call your
/// stable_softmax() on each `xt::row(scores, i)`, or divide by the row sums. A trap on the
/// second path: store the sums first, `Matrix sums = xt::sum(e, {1}, xt::keep_dims);` then
/// `e / sums`. Dividing by the lazy `xt::sum(e, {1}, xt::keep_dims)` expression itself gives
/// wrong numbers in xtensor 0.24, and without keep_dims the shapes do not broadcast.
Matrix attention_weights(const Matrix& queries, const Matrix& keys);

}  // namespace attn::ex01
