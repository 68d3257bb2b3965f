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
/// Hint: one loop; `std::exp`. Start from the empty state, and mind that e^(-inf - -inf)
/// would be NaN: the first logit only sets the maximum.
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
/// Hint: `std::max`, two `std::exp`. An empty state has max -inf: when both are empty,
/// return {} before computing -inf - -inf.
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
/// Hint: `Matrix s = xt::linalg::dot(q_block, xt::transpose(k_block)) / std::sqrt(d)`
/// with `xt::view(q, xt::range(i0, std::min(i0 + block, T)), xt::all())`; the last block
/// is shorter. Then row by row, as in 7.1, with the output rescaled too.
Matrix tiled_attention(const Matrix& q, const Matrix& k, const Matrix& v, bool causal,
                       std::size_t block);

}  // namespace attn::ex07
