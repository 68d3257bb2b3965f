/// \file
/// \brief Chapter 07 exercises: the online softmax and tiled attention, written by you.
///
/// Each function below is one exercise; its comment is the task. Your answer goes in the
/// `.cpp` file named after the exercise in this folder. Check with `make check CH=07`.
///
/// You may use chapters 01 to 06 (e.g. attn::softmax(), xt::linalg::dot). Speed is not
/// asked here: the chapter's attn::tiled_attention() shows how to make it fast.
#pragma once

#include "common/errors.hpp"
#include "common/shape.hpp"
#include "common/tensor.hpp"

#include <cstddef>
#include <limits>

/// Chapter 07 exercises.
namespace attn::ex07 {

/// What a softmax needs to know of a stream of logits: their maximum and
/// \f$\sum_j e^{x_j - \mathrm{max}}\f$. An empty stream: max = -inf, sum = 0.
struct SoftmaxState {
    float max = -std::numeric_limits<float>::infinity();  ///< the largest logit so far
    float sum = 0.0f;                                     ///< \f$\sum_j e^{x_j - \mathrm{max}}\f$
};

/// \brief Exercise 7.1: the online softmax state.
///
/// Read the logits once, in order, keeping the running maximum m and the running sum
/// \f$\ell = \sum e^{x_j - m}\f$. When a logit x is above m, every term already in
/// \f$\ell\f$ is relative to the old maximum: \f$\ell \leftarrow \ell\, e^{m - x} + 1\f$,
/// m = x. Otherwise \f$\ell \leftarrow \ell + e^{x - m}\f$.
///
/// \param logits `[n]`, possibly empty
/// \return the state
///
/// Example: `{1, 3, 2}` gives max 3 and sum \f$e^{-2} + 1 + e^{-1}\f$ = 1.5032.
///
/// Hint: one pass, keeping the largest logit so far and the sum of exponentials measured against
/// it. When a larger logit arrives, the sum was measured against the old maximum: scale it down
/// before adding the new term. Start from the empty state (max -inf, sum 0). A -inf logit adds
/// nothing: skip it, since before any finite logit its term is \f$e^{-\infty - (-\infty)}\f$ = NaN.
///
/// Second hint: for each logit x, in order: if \f$x > m\f$, then
/// \f$\ell \leftarrow \ell\, e^{m - x} + 1\f$ and \f$m \leftarrow x\f$ (at the first logit
/// \f$\ell = 0\f$, so \f$\ell\f$ becomes 1); otherwise, unless \f$x = -\infty\f$,
/// \f$\ell \leftarrow \ell + e^{x - m}\f$.
// answered in the library by: chapters/07_fast_attention/fast_attention.cpp softmax_state
SoftmaxState softmax_state(const Vector& logits);

/// \brief Exercise 7.2: merge two states.
///
/// The state of two pieces of a row together: the larger maximum, and each sum rescaled
/// to it: \f$m = \max(m_a, m_b)\f$, \f$\ell = \ell_a e^{m_a - m} + \ell_b e^{m_b - m}\f$.
/// Merging with an empty state changes nothing; two empty states give an empty state.
///
/// \param a the state of one piece
/// \param b the state of the other
/// \return the state of both
///
/// Example: (max 3, sum 1.5) and (max 5, sum 1) give max 5, sum \f$1.5 e^{-2} + 1\f$ = 1.2030.
///
/// Hint: the merged maximum is the larger one, and each sum was measured against its own maximum:
/// rescale both to the merged maximum before adding (adding raw sums is the mistake). An empty
/// state (max -inf, sum 0) changes nothing. Two empty states give max -inf, and
/// \f$e^{-\infty - (-\infty)}\f$ is NaN: return the empty state before computing it.
///
/// Second hint: \f$m = \max(m_a, m_b)\f$; if \f$m = -\infty\f$ the answer is the empty state; else
/// \f$\ell = \ell_a\, e^{m_a - m} + \ell_b\, e^{m_b - m}\f$ (one of the two factors is
/// \f$e^0 = 1\f$).
// answered in the library by: chapters/07_fast_attention/fast_attention.cpp merge_states
SoftmaxState merge_states(const SoftmaxState& a, const SoftmaxState& b);

/// \brief Exercise 7.3: tiled attention.
///
/// \f$\mathrm{softmax}(Q K^\top / \sqrt{d})\, V\f$ computed block by block: for each block
/// of `block` queries, keep per query a running maximum, a running sum and a running
/// output `[d_v]`; for each block of `block` keys, compute the scores of the tile, update
/// the maximum, rescale the running sum *and the running output* by \f$e^{m - m'}\f$, add
/// the tile's \f$e^{s - m'}\f$ and \f$e^{s - m'} V\f$. At the end divide by the sum. With
/// `causal`, query i sees keys 0..i: skip the key blocks wholly after the query block,
/// and mask inside the block on the diagonal.
///
/// \param q `[T, d]`
/// \param k `[T, d]`
/// \param v `[T, d_v]`
/// \param causal whether query i only sees keys 0..i
/// \param block queries and keys per block, at least 1; T need not be a multiple of it
/// \return `[T, d_v]`, equal to chapter 03's masked_attention() output
///
/// Throws std::invalid_argument naming tiled_attention when the shapes do not fit or
/// block is 0.
///
/// Example: with block >= T it is one tile: the plain softmax of chapter 01.
///
/// Hint: 7.1's online softmax, a tile at a time. The traps: when a tile raises a row's maximum,
/// rescale the running output as well as the running sum; the last block is shorter when block does
/// not divide T (it ends at the smaller of its start + block and T); with `causal`, skip only the
/// key blocks wholly after the query block and mask inside the diagonal block. Subtract the running
/// maximum before every exp, and divide by the sum only at the end.
///
/// Second hint: tile I by J: \f$S = Q_I K_J^\top / \sqrt{d}\f$ (`xt::view`, `xt::range`,
/// `xt::linalg::dot`, `xt::transpose`), \f$-\infty\f$ where causal and j > i. Per row:
/// \f$m' = \max(m, \max_j S_{ij})\f$,
/// \f$\ell \leftarrow \ell\, e^{m - m'} + \sum_j e^{S_{ij} - m'}\f$,
/// \f$o \leftarrow o\, e^{m - m'} + \sum_j e^{S_{ij} - m'} V_j\f$, \f$m \leftarrow m'\f$; last,
/// \f$o / \ell\f$.
// answered in the library by: chapters/07_fast_attention/fast_attention.cpp tiled_attention
Matrix tiled_attention(const Matrix& q, const Matrix& k, const Matrix& v, bool causal,
                       std::size_t block);

}  // namespace attn::ex07
