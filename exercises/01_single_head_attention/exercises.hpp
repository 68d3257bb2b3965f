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
/// Hint: a score is the dot product of the query with one row of keys: multiply them number by
/// number and add the products up, once per key. Two plain loops are just as fast as xtensor here;
/// with xtensor, `xt::row` is one key and `xt::sum` of an element-wise product is a lazy 0-d
/// expression: read its number with an empty call, `()`. No scaling yet: 1.3 does it.
///
/// Second hint: \f$s_j = \sum_{i=0}^{d_k-1} q_i\,K_{j,i}\f$ for \f$j = 0 \ldots T-1\f$: one output
/// per row of keys, an inner sum over the d_k columns, after `check_shape()` has checked both
/// arguments.
// answered in the library by: chapters/01_single_head_attention/single_head_attention.cpp dot_scores
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
/// Hint: subtract the largest logit from every logit before exponentiating, then divide every
/// exponential by their sum. Exponentiating the raw logits is the trap: e^x overflows to inf beyond
/// x = 88, and inf / inf is NaN. `xt::exp` works element-wise; `xt::amax` and `xt::sum` are lazy
/// reducers: read each as a plain float (an empty call, `()`) before you subtract or divide.
///
/// Second hint: \f$m = \max_j x_j\f$, \f$e_i = e^{x_i - m}\f$ (each at most 1),
/// \f$S = \sum_j e_j\f$ (at least 1: the maximum contributes \f$e^0\f$), \f$w_i = e_i / S\f$.
// answered in the library by: chapters/01_single_head_attention/single_head_attention.cpp softmax_in_place softmax
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
/// Hint: check the shapes first, here, with `check_shape()` and the name "attn::ex01::attend": the
/// error must name the function the caller called, not the 1.1 or 1.2 that it calls. Then reuse
/// your dot_scores() and stable_softmax(), and mix the rows of values with the weights. The scale
/// \f$1/\sqrt{d_k}\f$ goes on the scores, before the softmax.
///
/// Second hint: \f$s = K q\f$ (1.1), \f$w = \mathrm{softmax}(s / \sqrt{d_k})\f$ (1.2), then
/// \f$o = \sum_{j=0}^{T-1} w_j\, v_j\f$ with \f$v_j\f$ row j of values (`xt::row`): start from a
/// vector of d_v zeros and add \f$w_j v_j\f$ for every j.
// answered in the library by: chapters/01_single_head_attention/single_head_attention.cpp attend
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
/// Hint: \f$Q K^\top\f$ is one product (`xt::linalg::dot` and `xt::transpose`, from
/// `<xtensor-blas/xlinalg.hpp>`); scale it, then softmax each row (a query), not each column. Call
/// your stable_softmax() on each `xt::row`, or divide by the row sums; then store the sums
/// (`xt::sum` over axis 1 with `xt::keep_dims`) in a Matrix first: dividing by the lazy `xt::sum`
/// itself gives wrong numbers in xtensor 0.24, and without keep_dims the shapes do not broadcast.
///
/// Second hint: \f$S = Q K^\top / \sqrt{d_k}\f$, of shape `[T_q, T_k]`; then, for each row i,
/// \f$W_{ij} = e^{S_{ij} - m_i} / \sum_k e^{S_{ik} - m_i}\f$ with \f$m_i = \max_k S_{ik}\f$.
// answered in the library by: chapters/01_single_head_attention/single_head_attention.cpp scaled_scores softmax_rows scaled_dot_product_attention
Matrix attention_weights(const Matrix& queries, const Matrix& keys);

}  // namespace attn::ex01
