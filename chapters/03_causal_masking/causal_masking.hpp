/// \file
/// \brief Chapter 03: masks that decide which keys a query may see.
///
/// A mask is `true` where query i may attend to key j. Masked scores become -inf before
/// the softmax, so their weights are exactly 0 and the other weights still sum to one.
#pragma once

#include "chapters/01_single_head_attention/single_head_attention.hpp"
#include "chapters/02_self_attention/self_attention.hpp"
#include "common/tensor.hpp"

#include <cstddef>
#include <vector>

namespace attn {

/// The causal mask: query i may see keys 0..i (itself and the past), never the future.
/// \param T the sequence length, at least 1
/// \return `[T, T]`, lower-triangular including the diagonal
Mask causal_mask(std::size_t T);

/// The causal mask of the last T_q of T_k positions: new tokens whose keys are appended
/// after T_k - T_q earlier ones (chapter 06's cache). Query i, at position T_k - T_q + i,
/// sees keys 0..T_k - T_q + i. causal_mask(T) is causal_mask(T, T).
/// \param T_q the new tokens, at least 1
/// \param T_k every position, at least T_q
/// \return `[T_q, T_k]`
Mask causal_mask(std::size_t T_q, std::size_t T_k);

/// A causal mask that also forgets the distant past: query i sees keys i-window+1..i, at
/// most `window` tokens including itself (as in Mistral's sliding-window attention).
/// \param T the sequence length, at least 1
/// \param window how many tokens a query sees at most, at least 1
/// \return `[T, T]`
Mask sliding_window_mask(std::size_t T, std::size_t window);

/// Causal masks for a batch of sequences padded to a common length T: in sequence b, query
/// i may see key j when j <= i and j < lengths[b] (padding is never attended to).
/// \param lengths the real length of each sequence, each in 1..T
/// \param T the padded length
/// \return `[B, T, T]`
BatchMask padded_causal_masks(const std::vector<std::size_t>& lengths, std::size_t T);

/// Scores with every masked entry replaced by -inf.
/// \param scores `[T_q, T_k]`
/// \param allowed `[T_q, T_k]`
Matrix apply_mask(const Matrix& scores, const Mask& allowed);

/// Softmax of each row over the allowed keys only: masked weights are exactly 0, the
/// others sum to one. A row with no allowed key gives all zeros (it attends to nothing),
/// never NaN.
/// \param scores `[T_q, T_k]`
/// \param allowed `[T_q, T_k]`
/// \return `[T_q, T_k]`
Matrix masked_softmax(const Matrix& scores, const Mask& allowed);

/// Scaled dot-product attention where query i only sees the keys `allowed` permits.
/// \param queries `[T_q, d_k]`
/// \param keys `[T_k, d_k]`
/// \param values `[T_k, d_v]`
/// \param allowed `[T_q, T_k]`
AttentionResult masked_attention(const Matrix& queries, const Matrix& keys, const Matrix& values,
                                 const Mask& allowed);

/// Self-attention (chapter 02) with the causal mask: the output at position t depends on
/// tokens 0..t only.
/// \param x `[T, d_model]`
/// \param p the head's projections
AttentionResult causal_self_attention(const Matrix& x, const Projections& p);

/// A mask as a matrix of 1s and 0s, for printing and heatmaps.
Matrix mask_to_matrix(const Mask& allowed);

}  // namespace attn
