/// \file
/// \brief Chapter 04 exercises: multi-head attention, written by you.
///
/// Each function below is one exercise; its comment is the task. Your answer goes in the
/// `.cpp` file named after the exercise in this folder. Check with `make check CH=04`.
///
/// You may use chapters 01 to 03: attn::project() (include
/// `chapters/02_self_attention/self_attention.hpp`), attn::masked_attention() and
/// attn::causal_mask() (`chapters/03_causal_masking/causal_masking.hpp`),
/// attn::scaled_dot_product_attention() (`chapters/01_single_head_attention/single_head_attention.hpp`).
///
/// Every function first checks its arguments and throws std::invalid_argument whose message
/// names the function and shows what is wrong: a shape as `[0, 6]` (attn::check_shape()
/// writes the whole message) and a number as `name = value`, e.g. `n_heads = 0`.
#pragma once

#include "common/errors.hpp"
#include "common/shape.hpp"
#include "common/tensor.hpp"

#include <cstddef>

/// Chapter 04 exercises.
namespace attn::ex04 {

/// \brief Exercise 4.1: split into heads.
///
/// Give each head its contiguous block of columns: head h gets columns
/// `h*d_head .. (h+1)*d_head - 1` of x, with `d_head = d_model / n_heads`. This is
/// PyTorch's `x.view(T, n_heads, d_head).transpose(0, 1)`.
///
/// \param x `[T, d_model]`
/// \param n_heads the number of heads, at least 1, dividing d_model
/// \return `[n_heads, T, d_head]`, `heads(h, t, i) = x(t, h * d_head + i)`
///
/// Throws std::invalid_argument naming split_heads when x is empty, n_heads is 0, or
/// d_model is not a multiple of n_heads (say both numbers).
///
/// Example: x `{{0, 1, 2, 3, 4, 5}, {10, 11, 12, 13, 14, 15}}`, n_heads = 3 give head 0
/// `{{0, 1}, {10, 11}}`, head 1 `{{2, 3}, {12, 13}}`, head 2 `{{4, 5}, {14, 15}}`.
///
/// Hint: head h is one contiguous block of d_head columns of x, copied into slice h of a
/// `[n_heads, T, d_head]` tensor: blocks, not every n_heads-th column (the strided split).
/// `xt::view` with `xt::range` (from `<xtensor/xview.hpp>`) selects a block of columns, `xt::all()`
/// a whole axis. Check first that n_heads is at least 1 and divides d_model.
///
/// Second hint: \f$d_{head} = d_{model} / n_{heads}\f$ and
/// \f$\mathrm{heads}_{h,t,i} = x_{t,\; h\, d_{head} + i}\f$: head h gets the columns from
/// \f$h\, d_{head}\f$ up to, not including, \f$(h+1)\, d_{head}\f$.
// answered in the library by: chapters/04_multi_head_attention/multi_head_attention.cpp split_heads
Tensor3 split_heads(const Matrix& x, std::size_t n_heads);

/// \brief Exercise 4.2: merge the heads.
///
/// The inverse of 4.1: put the heads side by side again, head 0 first.
///
/// \param heads `[n_heads, T, d_head]`
/// \return `[T, n_heads * d_head]`, `x(t, h * d_head + i) = heads(h, t, i)`
///
/// Throws std::invalid_argument naming merge_heads when heads is empty (show its shape,
/// e.g. `[0, 2, 2]`).
///
/// Example: heads `{{{1, 2}}, {{3, 4}}, {{5, 6}}}` (3 heads, T = 1, d_head = 2) give
/// `{{1, 2, 3, 4, 5, 6}}`.
///
/// Hint: the inverse of 4.1: each head goes back into its own block of columns, head 0 on the left.
/// Not interleaved (one column of each head in turn) and not in reverse order. Start from a matrix
/// of zeros (`xt::zeros<float>`) of shape `[T, n_heads * d_head]` and assign each head's slice into
/// its block, with `xt::view` and `xt::range` as in 4.1.
///
/// Second hint: \f$x_{t,\; h\, d_{head} + i} = \mathrm{heads}_{h,t,i}\f$ for every head h, row t
/// and \f$0 \le i < d_{head}\f$.
// answered in the library by: chapters/04_multi_head_attention/multi_head_attention.cpp merge_heads
Matrix merge_heads(const Tensor3& heads);

/// \brief Exercise 4.3: the key/value head of a query head.
///
/// In grouped-query attention, `n_kv_heads` key/value heads serve `n_heads` query heads:
/// each serves a group of `n_heads / n_kv_heads` consecutive query heads. Return the one
/// that query head `head` uses.
///
/// \param head the query head, in 0..n_heads-1
/// \param n_heads the number of query heads
/// \param n_kv_heads the number of key/value heads, dividing n_heads
/// \return the key/value head, in 0..n_kv_heads-1
///
/// Throws std::invalid_argument naming kv_head_for when n_kv_heads is 0 or does not
/// divide n_heads, or head is not below n_heads; show the numbers as `name = value`,
/// e.g. `n_heads = 8 is not a multiple of n_kv_heads = 3`.
///
/// Example: 8 query heads and 2 key/value heads: heads 0..3 use 0, heads 4..7 use 1.
///
/// Hint: the query heads form n_kv_heads groups of equal size, neighbours together (as in Llama and
/// PyTorch's `repeat_interleave`): one division answers it. A modulo would deal the heads out
/// round-robin instead. Check first that n_kv_heads is not 0 and divides n_heads, and that head is
/// below n_heads.
///
/// Second hint: with \f$H\f$ = n_heads and \f$H_{kv}\f$ = n_kv_heads, the group size is
/// \f$g = H / H_{kv}\f$ and the answer \f$\lfloor \mathrm{head} / g \rfloor\f$, not
/// \f$\mathrm{head} \bmod H_{kv}\f$.
// answered in the library by: chapters/04_multi_head_attention/multi_head_attention.cpp kv_head_for
std::size_t kv_head_for(std::size_t head, std::size_t n_heads, std::size_t n_kv_heads);

/// \brief Exercise 4.4: multi-head attention.
///
/// The whole layer: \f$Q = X W_q\f$, \f$K = X W_k\f$, \f$V = X W_v\f$; split Q into
/// n_heads heads and K, V into n_kv_heads heads; for each query head h, attention with the
/// key/value head of 4.3, scores divided by \f$\sqrt{d_{head}}\f$ and, when `causal`,
/// chapter 03's causal mask; merge the head outputs in head order; multiply by W_o.
///
/// \param x `[T, d_model]`
/// \param w_q `[d_model, d_model]`
/// \param w_k `[d_model, n_kv_heads * d_head]`
/// \param w_v `[d_model, n_kv_heads * d_head]`
/// \param w_o `[d_model, d_model]`
/// \param n_heads query heads, dividing d_model
/// \param n_kv_heads key/value heads, dividing n_heads (n_heads: ordinary multi-head attention)
/// \param causal whether query t may only see keys 0..t
/// \return `[T, d_model]`
///
/// Throws std::invalid_argument naming multi_head_attention when x is empty, d_model is
/// not a multiple of n_heads, n_heads is not a multiple of n_kv_heads, or a weight does
/// not have the shape above.
///
/// Example: with n_heads = 1 it is chapter 03's attention of X W_q, X W_k, X W_v, times W_o.
///
/// Hint: check everything here first (`check_shape()`, name "attn::ex04::multi_head_attention"), so
/// that the error names the function the caller called. Then attn::project(), your split_heads(),
/// kv_head_for() and merge_heads(), and attn::masked_attention() per head: it scales by 1 over the
/// root of the head's width, as needed (not of d_model). Not causal: an all-true mask
/// (`xt::ones<bool>`). W_o once, after the merge.
///
/// Second hint: \f$Q = X W_q\f$, \f$K = X W_k\f$, \f$V = X W_v\f$, split into heads; for query head
/// h with key/value head g (4.3),
/// \f$O_h = \mathrm{softmax}(Q_h K_g^\top / \sqrt{d_{head}} + M)\, V_g\f$, M being 0 where allowed
/// and \f$-\infty\f$ elsewhere; the answer is \f$[O_0 \cdots O_{n_{heads}-1}]\, W_o\f$.
// answered in the library by: chapters/04_multi_head_attention/multi_head_attention.cpp attend_heads multi_head_attention
Matrix multi_head_attention(const Matrix& x, const Matrix& w_q, const Matrix& w_k,
                            const Matrix& w_v, const Matrix& w_o, std::size_t n_heads,
                            std::size_t n_kv_heads, bool causal);

}  // namespace attn::ex04
