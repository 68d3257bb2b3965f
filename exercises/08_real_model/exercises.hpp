/// \file
/// \brief Chapter 08 exercises: RoPE, the Llama block, the tokenizer's merges and top-p
/// sampling, written by you.
///
/// Each function below is one exercise; its comment is the task. Your answer goes in the
/// `.cpp` file named after the exercise in this folder. Check with `make check CH=08`.
///
/// You may use chapters 01 to 07: attn::rms_norm() and attn::swiglu() (chapter 05,
/// `chapters/05_transformer_block/transformer_block.hpp`), attn::split_heads(),
/// attn::kv_head_for() (chapter 04), attn::masked_attention() and attn::causal_mask()
/// (chapter 03), attn::softmax() (chapter 01).
#pragma once

#include "chapters/03_causal_masking/causal_masking.hpp"
#include "chapters/05_transformer_block/transformer_block.hpp"
#include "common/errors.hpp"
#include "common/shape.hpp"
#include "common/tensor.hpp"

#include <cstddef>
#include <string>
#include <vector>

/// Chapter 08 exercises.
namespace attn::ex08 {

/// \brief Exercise 8.1: rotary position embedding.
///
/// Row t of x is a query or key of one head at position p = first_position + t. Rotate
/// each pair \f$(x_{2i}, x_{2i+1})\f$ by the angle \f$p\,\theta^{-2i/d}\f$:
/// \f$x'_{2i} = x_{2i}\cos - x_{2i+1}\sin\f$, \f$x'_{2i+1} = x_{2i}\sin + x_{2i+1}\cos\f$.
///
/// \param x `[T, d]`, d even
/// \param first_position the position of row 0
/// \param theta the base, 10000 in Llama
/// \return `[T, d]`
///
/// Throws std::invalid_argument naming rope when x is empty or d is odd.
///
/// Example: `{{1, 0, 1, 0}}` at position 1 with theta 10000 gives
/// `{{cos 1, sin 1, cos 0.01, sin 0.01}}` = `{{0.5403, 0.8415, 1.0000, 0.0100}}`: pair 0
/// turns by 1 radian, pair 1 by \f$10000^{-1/2}\f$ = 0.01.
///
/// Hint: `Matrix out = x;`, then for each row t and pair i:
/// `double angle = p * std::pow(theta, -2.0 * i / d);`, `float a = x(t, 2 * i),
/// b = x(t, 2 * i + 1);` and the two formulas with `std::cos(angle)`, `std::sin(angle)`.
/// The pairs are neighbours (2i, 2i+1), not i and i + d/2.
Matrix rope(const Matrix& x, std::size_t first_position, float theta);

/// \brief Exercise 8.2: the Llama block.
///
/// Chapter 05's pre-LN block with Llama's parts, for tokens at positions 0..T-1:
/// \f$h = x + \mathrm{Attn}(\mathrm{RMSNorm}(x))\f$, then
/// \f$y = h + \mathrm{SwiGLU}(\mathrm{RMSNorm}(h))\f$. The attention is chapter 04's
/// grouped-query attention without biases, causal, with one change: each head's queries
/// *and keys* are rotated by your rope() (8.1) before the scores. The values are not
/// rotated. RMSNorm's epsilon is 1e-5, RoPE's theta 10000.
///
/// \param x `[T, d_model]`
/// \param attention_norm `[d_model]`, the gain of the first RMSNorm
/// \param attention W_q `[d_model, d_model]`, W_k and W_v `[d_model, n_kv_heads * d_head]`,
///        W_o, the head counts; no biases
/// \param ffn_norm `[d_model]`, the gain of the second RMSNorm
/// \param ffn SwiGLU's three matrices
/// \return `[T, d_model]`
///
/// Throws std::invalid_argument (from the functions it calls is fine) when a shape does
/// not fit.
///
/// Example: with W_o and W_down all zero the block returns x unchanged.
///
/// Hint: `Matrix z = attn::rms_norm(x, attention_norm, 1e-5f);`, then
/// `attn::split_heads(attn::project(z, attention.w_q), attention.n_heads)` (and the same
/// for keys and values with n_kv_heads). For head h use key/value head
/// `attn::kv_head_for(h, n_heads, n_kv_heads)`, rotate `Matrix(xt::view(q, h, xt::all(),
/// xt::all()))` and the key with `rope(..., 0, 10000.0f)`, and take
/// `attn::masked_attention(q_h, k_h, v_h, attn::causal_mask(T)).output`. Merge the heads
/// (attn::merge_heads), project with W_o, add x; then add `attn::swiglu(attn::rms_norm(h,
/// ffn_norm, 1e-5f), ffn)`.
Matrix llama_block(const Matrix& x, const Vector& attention_norm, const MultiHeadWeights& attention,
                   const Vector& ffn_norm, const SwiGLUWeights& ffn);

/// \brief Exercise 8.3: the tokenizer's merges.
///
/// The tokens of a text, one per character or byte, are merged as sentencepiece does
/// for Llama: among all adjacent pairs whose joined pieces form a piece of the
/// vocabulary, merge the one whose joined piece has the highest score (the leftmost of
/// equal scores) into that piece's token (the first id, when two ids share a piece).
/// Repeat until no adjacent pair joins into a piece.
///
/// \param tokens the token ids before merging
/// \param pieces the text of each token id
/// \param scores the score of each token id
/// \return the merged token ids
///
/// Throws std::invalid_argument naming merge_pairs when pieces and scores differ in size
/// or a token is outside the vocabulary.
///
/// Example: pieces `{"a", "b", "c", "ab", "bc"}` with scores `{0, 0, 0, 1, 2}`: the tokens
/// a b c (`{0, 1, 2}`) become a bc (`{0, 4}`): "bc" scores higher than "ab", though "ab"
/// comes first. No "abc" exists, so it stops there.
///
/// Hint: build a `std::map<std::string, std::size_t>` from piece to id (the first id of
/// equal pieces). Loop: scan every i for `pieces[tokens[i]] + pieces[tokens[i + 1]]` in
/// the map, keep the best (strictly greater score replaces it); when none is found,
/// return; otherwise `tokens[best] = id;` and `tokens.erase(tokens.begin() + best + 1);`.
std::vector<std::size_t> merge_pairs(std::vector<std::size_t> tokens,
                                     const std::vector<std::string>& pieces,
                                     const std::vector<float>& scores);

/// \brief Exercise 8.4: top-p sampling.
///
/// Turn the logits into probabilities \f$\mathrm{softmax}(\mathrm{logits} / \tau)\f$.
/// Order the tokens from the most likely to the least (the lower id first among equal
/// probabilities) and keep them, in that order, until the kept probabilities add up to
/// more than top_p: the token that crosses top_p is kept. Then walk the kept tokens in
/// the same order, subtracting each probability from coin × (their sum), and return the
/// token at which it drops below 0 (the last kept token if rounding leaves it above).
///
/// \param logits `[vocab_size]`
/// \param temperature \f$\tau > 0\f$
/// \param top_p in (0, 1]
/// \param coin a uniform number in [0, 1), the random draw
/// \return the chosen token id
///
/// Throws std::invalid_argument naming sample_top_p when logits is empty, temperature is
/// not above 0 or top_p is not in (0, 1].
///
/// Example: logits `{0, ln 3, ln 6}` (probabilities 0.1, 0.3, 0.6), temperature 1,
/// top_p 0.8: the order is 2, 1, 0; 0.6 is not above 0.8, 0.6 + 0.3 = 0.9 is, so tokens
/// 2 and 1 are kept, mass 0.9. Coin 0.5: 0.45 - 0.6 < 0, token 2. Coin 0.7: 0.63 - 0.6 =
/// 0.03, then 0.03 - 0.3 < 0, token 1.
///
/// Hint: `Vector p = attn::softmax(logits / temperature);`, a `std::vector<std::size_t>`
/// of ids sorted with `std::stable_sort` by `p(a) > p(b)`, a running sum to find how many
/// to keep, then a second loop for the draw.
std::size_t sample_top_p(const Vector& logits, float temperature, float top_p, float coin);

}  // namespace attn::ex08
