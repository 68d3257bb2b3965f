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
/// Hint: work on a copy of x: row t is at position first_position + t (not t), and each pair of
/// neighbours \f$(x_{2i}, x_{2i+1})\f$ turns by its own angle, slower for later pairs. The pairs
/// are (2i, 2i+1), not i and i + d/2; the exponent is -2i/d, not -i/d. Read both numbers of a pair
/// before writing either; compute the angle in double (positions in the thousands lose precision).
///
/// Second hint: with p = first_position + t, \f$\alpha_i = p\, \theta^{-2i/d}\f$ for
/// \f$i = 0 \ldots d/2 - 1\f$; with \f$a = x_{t,2i}\f$ and \f$b = x_{t,2i+1}\f$:
/// \f$x'_{t,2i} = a \cos\alpha_i - b \sin\alpha_i\f$ and
/// \f$x'_{t,2i+1} = a \sin\alpha_i + b \cos\alpha_i\f$.
// answered in the library by: chapters/08_real_model/llama.cpp rope_tables rope_rotate rope
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
/// Hint: chapter 04's grouped-query attention by hand, to rotate each head's queries and keys
/// between the split and the scores: attn::rms_norm(), attn::project(), attn::split_heads(),
/// attn::kv_head_for(), your rope() (position 0, theta 10000), attn::masked_attention() with
/// attn::causal_mask(), attn::merge_heads(), attn::swiglu(). Rotate queries and keys, never the
/// values; the residuals add x and h, not their norms.
///
/// Second hint: \f$z = \mathrm{RMSNorm}(x)\f$; Q, K and V are z times W_q, W_k and W_v, split into
/// heads; query head j, with key/value head g, gives
/// \f$O_j = \mathrm{softmax}(R(Q_j) R(K_g)^\top / \sqrt{d_{head}} + M)\, V_g\f$ (R: rope(); M:
/// causal, 0 or \f$-\infty\f$); \f$h = x + [O_0 \cdots O_{n_{heads}-1}]\, W_o\f$ and
/// \f$y = h + \mathrm{SwiGLU}(\mathrm{RMSNorm}(h))\f$, with \f$\epsilon = 10^{-5}\f$.
// answered in the library by: chapters/08_real_model/llama.cpp rope_heads llama_block
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
/// Hint: a `std::map` from a piece's text to its id (equal pieces: the first id wins, never
/// overwrite), then rounds: look up every adjacent pair's joined text and merge the pair whose
/// joined piece scores highest: not the leftmost that joins, not by the left token's score, and
/// only a strictly higher score replaces the best. Scan again from the start until no pair joins.
///
/// Second hint: each round: among the positions i whose pair joins into a piece
/// \f$\pi_{t_i} \pi_{t_{i+1}}\f$ of the vocabulary, take the one whose piece has the highest score,
/// the smallest i of equal scores; none: return the tokens. Otherwise \f$t_i\f$ becomes that
/// piece's id and \f$t_{i+1}\f$ is removed: the sequence is one token shorter.
// answered in the library by: chapters/08_real_model/tokenizer.cpp Tokenizer::encode
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
/// Hint: softmax at the temperature (it divides the logits first); the ids from the most likely
/// (`std::iota`, then `std::stable_sort`, which keeps the lower id first among equals); keep them
/// until the mass is above top_p, the crossing token included (above, not at); then walk the kept
/// ones from the most likely with the coin scaled by the kept mass.
///
/// Second hint: \f$p = \mathrm{softmax}(z / \tau)\f$, ordered
/// \f$p_{\pi_0} \ge p_{\pi_1} \ge \ldots\f$; keep the first k, k the smallest count whose mass
/// \f$M = \sum_{i<k} p_{\pi_i}\f$ is above top_p (all if none); with
/// \f$r = \mathrm{coin} \cdot M\f$, return the first \f$\pi_i\f$ with
/// \f$r - \sum_{i' \le i} p_{\pi_{i'}} < 0\f$, or \f$\pi_{k-1}\f$ if none.
// answered in the library by: chapters/08_real_model/llama.cpp sample_top_p
std::size_t sample_top_p(const Vector& logits, float temperature, float top_p, float coin);

}  // namespace attn::ex08
