/// \file
/// \brief Chapter 01: the pieces of single-head attention, reused by every later chapter.
///
/// A query scores every key with a dot product, softmax turns the scores into weights
/// that sum to one, and the output is the weights' average of the values. Scores are
/// scaled by \f$1/\sqrt{d_k}\f$ so that softmax does not saturate as \f$d_k\f$ grows.
#pragma once

#include "chapters/01_single_head_attention/softmax_in_place.hpp"
#include "common/tensor.hpp"

namespace attn {

/// Dot-product scores of one query against every key: \f$s_j = q \cdot k_j\f$.
/// \param query `[d_k]`
/// \param keys `[T, d_k]`
/// \return `[T]`, one score per key
Vector dot_scores(const Vector& query, const Matrix& keys);

/// Softmax as the formula reads, \f$e^{x_i} / \sum_j e^{x_j}\f$, with no protection against
/// overflow. Only here to show why softmax() subtracts the maximum: a logit above ~88
/// overflows a float's exponent and the result is NaN.
/// \param logits `[T]`
/// \return `[T]`
Vector naive_softmax(const Vector& logits);

/// Numerically stable softmax: \f$e^{x_i - m} / \sum_j e^{x_j - m}\f$ with
/// \f$m = \max_j x_j\f$, which has the same value and never overflows.
///
/// Logits of -inf get weight exactly 0; a row whose logits are all -inf (every key masked)
/// gives all zeros rather than NaN; a NaN logit makes the whole result NaN, so a bug
/// upstream is not hidden.
/// \param logits `[T]`, T >= 1
/// \return `[T]`, non-negative, summing to one (unless all -inf or any NaN)
Vector softmax(const Vector& logits);

/// softmax() applied to each row of `logits` independently.
/// \param logits `[rows, T]`
/// \return `[rows, T]`, each row summing to one
Matrix softmax_rows(const Matrix& logits);

/// The result of one query attending over a sequence.
struct Attention {
    Vector weights;  ///< `[T]` how much the query takes from each position; sums to one
    Vector output;   ///< `[d_v]` the weighted average of the values
};

/// One query attends over keys and values:
/// \f$w = \mathrm{softmax}(K q / \sqrt{d_k})\f$, output \f$= \sum_j w_j v_j\f$.
/// \param query `[d_k]`
/// \param keys `[T, d_k]`
/// \param values `[T, d_v]`
Attention attend(const Vector& query, const Matrix& keys, const Matrix& values);

/// The scaled scores of many queries against many keys: \f$Q K^\top / \sqrt{d_k}\f$.
/// Entry (i, j) is how well query i matches key j.
/// \param queries `[T_q, d_k]`
/// \param keys `[T_k, d_k]`
/// \return `[T_q, T_k]`
Matrix scaled_scores(const Matrix& queries, const Matrix& keys);

/// The result of a matrix of queries attending over a sequence.
struct AttentionResult {
    Matrix weights;  ///< `[T_q, T_k]` row i: how much query i takes from each key
    Matrix output;   ///< `[T_q, d_v]` row i: the output for query i
};

/// Scaled dot-product attention for many queries at once (Vaswani et al. 2017):
///
/// \f[ \mathrm{Attention}(Q, K, V) = \mathrm{softmax}\!\left(\frac{Q K^\top}{\sqrt{d_k}}\right) V \f]
///
/// Row i of the result equals attend() for query i.
/// \param queries `[T_q, d_k]`
/// \param keys `[T_k, d_k]`
/// \param values `[T_k, d_v]`
AttentionResult scaled_dot_product_attention(const Matrix& queries, const Matrix& keys,
                                             const Matrix& values);

}  // namespace attn
