/// \file
/// \brief Chapter 03 exercises: causal masking, written by you.
///
/// Each function below is one exercise; its comment is the task. Your answer goes in the
/// `.cpp` file named after the exercise in this folder. Check with `make check CH=03`.
///
/// A mask (attn::Mask, `xt::xtensor<bool, 2>`) is `true` where query i (row) may attend
/// to key j (column). You may use chapters 01 and 02: attn::softmax(), attn::softmax_rows(),
/// attn::scaled_scores() (include `chapters/01_single_head_attention/single_head_attention.hpp`).
///
/// Every function first checks its arguments and throws std::invalid_argument whose message
/// names the function and shows what is wrong: a shape as `[0, 6]` (attn::check_shape()
/// writes the whole message) and a number as `name = value`, e.g. `n_heads = 0`.
#pragma once

#include "common/errors.hpp"
#include "common/shape.hpp"
#include "common/tensor.hpp"

#include <cstddef>
#include <vector>

/// Chapter 03 exercises.
namespace attn::ex03 {

/// \brief Exercise 3.1: the causal mask.
///
/// Query i may see keys 0..i: itself and everything before it, nothing after.
///
/// \param T the sequence length
/// \return `[T, T]`, `true` where j <= i
///
/// Throws std::invalid_argument when T is 0.
///
/// Example: T = 3 gives `{{1, 0, 0}, {1, 1, 0}, {1, 1, 1}}`.
///
/// Hint: `Mask m = xt::zeros<bool>({T, T});` (every cell false), then two loops that set the
/// allowed cells. Rows are queries. Not `Mask::from_shape({T, T})`: like every xtensor
/// from_shape, it leaves the cells holding whatever the memory held before.
Mask causal_mask(std::size_t T);

/// \brief Exercise 3.2: masked softmax.
///
/// Softmax of each row over the allowed keys only. Set the masked scores to -inf *before*
/// the softmax, so masked weights are exactly 0 and the allowed ones sum to one. A row in
/// which no key is allowed gives all zeros, never NaN.
///
/// \param scores `[T_q, T_k]`
/// \param allowed `[T_q, T_k]`
/// \return `[T_q, T_k]`
///
/// Throws std::invalid_argument when scores is empty or allowed has a different shape.
///
/// Example: scores `{{1, 2, 3}, {1, 2, 3}}`, allowed `{{1, 1, 0}, {0, 0, 0}}` give
/// `{{0.269, 0.731, 0}, {0, 0, 0}}`.
///
/// Hint: `-std::numeric_limits<float>::infinity()` from `<limits>`; then, row by row, the
/// stable softmax of chapter 01 (`xt::amax(row)()`, `xt::exp`, `xt::sum`). A fully masked
/// row has exponentials that sum to 0: return zeros for it. Test that sum, not the maximum:
/// in xtensor 0.24 `xt::amax` of an all -inf row returns -3.40282e+38 (the lowest float),
/// not -inf.
Matrix masked_softmax(const Matrix& scores, const Mask& allowed);

/// \brief Exercise 3.3: a sliding-window causal mask.
///
/// Each query sees at most the last `window` tokens, itself included: key j is allowed
/// for query i when j <= i and i - j < window (Mistral's sliding-window attention).
///
/// \param T the sequence length
/// \param window how many tokens a query may see at most
/// \return `[T, T]`
///
/// Throws std::invalid_argument when T or window is 0.
///
/// Example: T = 4, window = 2 gives
/// `{{1, 0, 0, 0}, {1, 1, 0, 0}, {0, 1, 1, 0}, {0, 0, 1, 1}}`.
///
/// Hint: i and j are unsigned: compute i - j only when j <= i.
Mask sliding_window_mask(std::size_t T, std::size_t window);

/// \brief Exercise 3.4: masks for a padded batch.
///
/// Sequences of different lengths are padded to a common length T. Sequence b needs a
/// mask that is causal and never lets a query attend to padding: key j is allowed for
/// query i when j <= i and j < lengths[b].
///
/// \param lengths the real length of each sequence, each in 1..T
/// \param T the padded length
/// \return `[B, T, T]` with B = lengths.size(); `masks(b, i, j)`
///
/// Throws std::invalid_argument when lengths is empty, T is 0, or a length is 0 or above T;
/// the message names padded_causal_masks and the bad length.
///
/// Example: lengths `{3, 1}`, T = 3 give
/// `{{{1, 0, 0}, {1, 1, 0}, {1, 1, 1}}, {{1, 0, 0}, {1, 0, 0}, {1, 0, 0}}}`.
///
/// Hint: `BatchMask masks = xt::zeros<bool>({B, T, T});` (not from_shape, whose cells are
/// uninitialised; see 3.1), then set the allowed cells. Padding is a property of keys
/// (columns): the padded queries still see the real tokens.
BatchMask padded_causal_masks(const std::vector<std::size_t>& lengths, std::size_t T);

}  // namespace attn::ex03
