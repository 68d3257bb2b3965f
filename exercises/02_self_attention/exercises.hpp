/// \file
/// \brief Chapter 02 exercises: self-attention, written by you.
///
/// Each function below is one exercise; its comment is the task. Your answer goes in the
/// `.cpp` file named after the exercise in this folder. Check with `make check CH=02`.
///
/// You may use chapter 01's library here: attn::softmax(), attn::softmax_rows(),
/// attn::scaled_dot_product_attention() (include
/// `chapters/01_single_head_attention/single_head_attention.hpp`), and
/// `xt::linalg::dot` from `<xtensor-blas/xlinalg.hpp>` for matrix products.
///
/// As in chapter 01, every function first checks its arguments and throws
/// std::invalid_argument naming the function and the offending shape (attn::check_shape()).
#pragma once

#include "common/errors.hpp"
#include "common/shape.hpp"
#include "common/tensor.hpp"

#include <cstddef>
#include <vector>

/// Chapter 02 exercises.
namespace attn::ex02 {

/// \brief Exercise 2.1: project every token.
///
/// Multiply the tokens by a projection matrix: \f$X W\f$. Row t of the result is token t's
/// projection (its query, key or value, depending on W).
///
/// \param x `[T, d_model]`, one token per row
/// \param w `[d_model, d_out]`
/// \return `[T, d_out]`
///
/// Throws std::invalid_argument when x is empty or w does not have d_model rows.
///
/// Example: x `{{1, 2}, {3, 4}}`, w `{{1, 0, 1}, {0, 1, 1}}` give `{{1, 2, 3}, {3, 4, 7}}`.
///
/// Hint: one matrix product, `xt::linalg::dot` from `<xtensor-blas/xlinalg.hpp>`. Mind the order:
/// X W, not W X and not \f$X W^\top\f$. The tokens are the rows of X, so X comes first.
///
/// Second hint: \f$Y_{t,o} = \sum_i X_{t,i}\, W_{i,o}\f$: `[T, d_model]` times `[d_model, d_out]`
/// gives `[T, d_out]`. Check first that W has d_model rows, as many as x has columns.
// answered in the library by: chapters/02_self_attention/self_attention.cpp project
Matrix project(const Matrix& x, const Matrix& w);

/// \brief Exercise 2.2: self-attention end to end.
///
/// Project, then attend: \f$Q = X W_q\f$, \f$K = X W_k\f$, \f$V = X W_v\f$, output
/// \f$\mathrm{softmax}(Q K^\top / \sqrt{d_k})\, V\f$ with softmax along each row.
///
/// \param x `[T, d_model]`
/// \param w_q `[d_model, d_k]`
/// \param w_k `[d_model, d_k]`
/// \param w_v `[d_model, d_v]`
/// \return `[T, d_v]`, row t the output of token t
///
/// Throws std::invalid_argument naming self_attention when x is empty, a projection does
/// not have d_model rows, or W_q and W_k differ in width.
///
/// Example: x `{{1, 0}, {0, 1}, {1, 1}}`, w_q `{{1, 0}, {0, 2}}`, w_k `{{0, 1}, {1, 0}}`,
/// w_v `{{10, 0}, {0, 10}}` give `{{5.99, 8.02}, {8.92, 5.54}, {8.60, 7.16}}`.
///
/// Hint: check the shapes here first (`check_shape()`, name "attn::ex02::self_attention"), so that
/// the error names the function the caller called. Then your project() three times and chapter 01's
/// attn::scaled_dot_product_attention(), whose `.output` is the answer. Which of Q and K is
/// transposed decides which way the weights point: swapped, they give the transposed ones.
///
/// Second hint: \f$Q = X W_q\f$, \f$K = X W_k\f$, \f$V = X W_v\f$, then
/// \f$\mathrm{softmax}(Q K^\top / \sqrt{d_k})\, V\f$ row by row: what
/// scaled_dot_product_attention() computes from Q, K and V, in that order.
// answered in the library by: chapters/02_self_attention/self_attention.cpp project_qkv self_attention
Matrix self_attention(const Matrix& x, const Matrix& w_q, const Matrix& w_k, const Matrix& w_v);

/// \brief Exercise 2.3: reorder the tokens.
///
/// Return x with its rows in the given order: row i of the result is row `order[i]` of x.
/// This is how the chapter shuffles a sentence to show that self-attention does not see
/// word order.
///
/// \param x `[T, d]`
/// \param order T indices, each of 0..T-1 exactly once
/// \return `[T, d]`
///
/// Throws std::invalid_argument when x is empty, `order` does not have T entries, or an
/// entry is out of range or repeated; the message names permute_rows and the bad entry.
///
/// Example: x `{{1, 1}, {2, 2}, {3, 3}}`, order `{2, 0, 1}` give `{{3, 3}, {1, 1}, {2, 2}}`.
///
/// Hint: check `order` before copying anything: T entries, each below T, none twice (a
/// `std::vector<bool>` of the rows seen so far finds a repeat). Then fill a new matrix row by row.
/// Mind the direction: row i of the result is read from row order[i] of x (a gather); writing row i
/// of x into row order[i] (a scatter) gives the inverse permutation.
///
/// Second hint: \f$\mathrm{out}_{i,:} = x_{\mathrm{order}[i],:}\f$ for \f$i = 0 \ldots T-1\f$;
/// `xt::row` (from `<xtensor/xview.hpp>`) is a view of one row that can be read and assigned to.
// answered in the library by: chapters/02_self_attention/self_attention.cpp permute_rows
Matrix permute_rows(const Matrix& x, const std::vector<std::size_t>& order);

/// \brief Exercise 2.4: how focused is each query.
///
/// The entropy of each row of attention weights, in nats (natural logarithm):
/// \f$H_i = -\sum_j w_{ij} \ln w_{ij}\f$, taking \f$0 \ln 0 = 0\f$. A row that puts all
/// its weight on one key has entropy 0; a row spread evenly over T keys has \f$\ln T\f$.
/// A NaN weight gives a NaN entropy for its row (a bug upstream must stay visible).
///
/// \param weights `[T_q, T_k]`, each row non-negative
/// \return `[T_q]`
///
/// Throws std::invalid_argument when weights is empty.
///
/// Example: `{{1, 0}, {0.5, 0.5}}` gives `{0, 0.693}` (ln 2).
///
/// Hint: add up \f$-w \ln w\f$ over each row, with the natural logarithm (std::log, not log2: nats,
/// not bits). std::log(0) is -inf and 0 times -inf is NaN: skip the zero weights, whose term is 0
/// in the limit. But a NaN weight must make its row NaN, and a test "w above 0" is false for NaN
/// too: test for NaN (std::isnan) on its own, first.
///
/// Second hint: \f$H_i = -\sum_{j:\,w_{ij} > 0} w_{ij} \ln w_{ij}\f$, and \f$H_i\f$ = NaN as soon
/// as one \f$w_{ij}\f$ of row i is NaN; rows of zeros give 0.
// answered in the library by: chapters/02_self_attention/self_attention.cpp attention_entropy
Vector attention_entropy(const Matrix& weights);

}  // namespace attn::ex02
