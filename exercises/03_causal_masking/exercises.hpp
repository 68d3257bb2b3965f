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
/// Hint: rows are queries and columns keys: query i may see key j when j is not after i, its own
/// diagonal cell included. Start from a mask that is false everywhere (`xt::zeros<bool>`), or set
/// every cell yourself. Not `Mask::from_shape` followed by setting only the allowed cells: like
/// every xtensor from_shape, it leaves the cells holding whatever the memory held before.
///
/// Second hint: \f$m_{ij} = [\,j \le i\,]\f$ for \f$0 \le i, j < T\f$: the lower triangle with its
/// diagonal (PyTorch's tril). \f$j < i\f$ loses the diagonal; \f$j \ge i\f$ is the transposed mask.
// answered in the library by: chapters/03_causal_masking/causal_masking.cpp causal_mask
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
/// Hint: mask before the softmax: a disallowed score becomes \f$-\infty\f$ (from
/// `std::numeric_limits<float>`, `<limits>`), whose weight is then exactly 0; masking after the
/// softmax, or with 0, is wrong. Chapter 01's attn::softmax_rows() gives a row of only
/// \f$-\infty\f$ all zeros. A softmax of your own must test the exponentials' sum for 0, not the
/// maximum: in xtensor 0.24 `xt::amax` of an all -inf row is -3.40282e+38 (the lowest float).
///
/// Second hint: \f$s'_{ij} = s_{ij}\f$ where allowed, \f$-\infty\f$ elsewhere; then, per row,
/// \f$w_{ij} = e^{s'_{ij} - m_i} / \sum_k e^{s'_{ik} - m_i}\f$ with \f$m_i\f$ the row's largest
/// allowed score, and \f$w_{ij} = 0\f$ for every j of a row that allows nothing.
// answered in the library by: chapters/03_causal_masking/causal_masking.cpp apply_mask masked_softmax
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
/// Hint: two conditions at once: causal (key j not after query i) and near (fewer than `window`
/// steps back), so a query sees itself and the window - 1 tokens before it. i and j are unsigned
/// (std::size_t): i - j wraps round to a huge number when j is above i, so compute it only when j
/// is at most i. Start from all false, or set every cell, as in 3.1.
///
/// Second hint: \f$m_{ij} = [\,j \le i \,\wedge\, i - j < w\,]\f$ with w the window: w = T gives
/// the causal mask, w = 1 the diagonal. \f$i - j \le w\f$ lets one token too many in;
/// \f$|i - j| < w\f$ forgets causality.
// answered in the library by: chapters/03_causal_masking/causal_masking.cpp sliding_window_mask
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
/// Hint: one mask per sequence: 3.1's causal mask without the padded keys. Padding is a property of
/// keys (columns): padded queries (rows) still see the real tokens, so do not blank their rows.
/// Check every length first, then start from all false (`xt::zeros<bool>`, shape `[B, T, T]`), not
/// from_shape, whose cells are uninitialised (see 3.1).
///
/// Second hint: \f$m_{b,i,j} = [\,j \le i \,\wedge\, j < \mathrm{len}_b\,]\f$ for every b, i and j,
/// with \f$\mathrm{len}_b\f$ = lengths[b]. Requiring \f$i < \mathrm{len}_b\f$ as well is the
/// query-padding mistake.
// answered in the library by: chapters/03_causal_masking/causal_masking.cpp padded_causal_masks
BatchMask padded_causal_masks(const std::vector<std::size_t>& lengths, std::size_t T);

}  // namespace attn::ex03
