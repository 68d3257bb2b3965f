/// \file
/// \brief Chapter 08: the Llama architecture, built from the book's pieces. Rotary position
/// embeddings (new here), RMSNorm and SwiGLU (chapter 05), grouped-query attention (chapter
/// 04), the KV cache (chapter 06), loops written to vectorise (chapter 07); no biases, no
/// learned positions. Sampling with temperature and top-p.
#pragma once

#include "chapters/06_kv_cache/kv_cache.hpp"
#include "chapters/08_real_model/linear_weight.hpp"
#include "common/random.hpp"
#include "common/tensor.hpp"

#include <cstddef>
#include <functional>
#include <vector>

namespace attn {

/// A Llama's shape: the seven numbers of a llama2.c checkpoint's header, and what the
/// format leaves implicit.
struct LlamaConfig {
    std::size_t dim = 0;            ///< the width of the residual stream (d_model)
    std::size_t hidden_dim = 0;     ///< the SwiGLU width (d_ff)
    std::size_t n_layers = 0;       ///< blocks
    std::size_t n_heads = 0;        ///< query heads, dividing dim
    std::size_t n_kv_heads = 0;     ///< key/value heads, dividing n_heads
    std::size_t vocab_size = 0;     ///< tokens
    std::size_t seq_len = 0;        ///< the longest sequence (the RoPE tables' length)
    bool shared_classifier = true;  ///< the output layer is the token embedding (tied)
    float rope_theta = 10000.0f;    ///< RoPE's base, \f$\theta\f$
    float norm_eps = 1e-5f;         ///< RMSNorm's epsilon
};

/// The dimensions of llama2.c's smallest TinyStories model, stories15M.bin: dim 288,
/// hidden 768, 6 layers, 6 heads (all key/value heads), vocabulary 32000, seq_len 256.
LlamaConfig stories15m_config();

/// Throws std::invalid_argument naming `caller` when a size is 0, the heads do not divide
/// dim, the key/value heads do not divide the heads or the head size is odd (RoPE rotates
/// pairs).
void check_config(const LlamaConfig& c, const char* caller);

/// The weights of one Llama block. Every matrix is a LinearWeight, kept as the checkpoint
/// stores it, `[out, in]` (the transpose of the book's W `[in, out]`); a model read from a
/// file points into the mapped file. No biases: Llama has none.
struct LlamaLayer {
    Vector attention_norm;  ///< `[dim]`, RMSNorm gain before attention
    LinearWeight w_q;       ///< `[n_heads * d_head, dim]`
    LinearWeight w_k;       ///< `[n_kv_heads * d_head, dim]`
    LinearWeight w_v;       ///< `[n_kv_heads * d_head, dim]`
    LinearWeight w_o;       ///< `[dim, n_heads * d_head]`
    Vector ffn_norm;        ///< `[dim]`, RMSNorm gain before the feed-forward network
    LinearWeight w_gate;    ///< `[hidden_dim, dim]`, llama2.c's w1, through SiLU
    LinearWeight w_up;      ///< `[hidden_dim, dim]`, llama2.c's w3
    LinearWeight w_down;    ///< `[dim, hidden_dim]`, llama2.c's w2
};

/// The block of chapter 04's and 05's weight types (`[in, out]`, as exercise 8.2 takes
/// them), stored as LlamaLayer keeps it. \p attention must have no biases.
LlamaLayer llama_layer(const Vector& attention_norm, const MultiHeadWeights& attention,
                       const Vector& ffn_norm, const SwiGLUWeights& ffn);

/// Every weight of a Llama.
struct LlamaWeights {
    LinearWeight token_embedding;    ///< `[vocab_size, dim]`: row t is token t's vector
    std::vector<LlamaLayer> layers;  ///< n_layers blocks
    Vector final_norm;               ///< `[dim]`
    /// `[vocab_size, dim]` (`[out, in]`), the output layer; when shared, the embedding itself.
    LinearWeight classifier;
};

/// Seeded random weights: matrices \f$N(0, 0.02)\f$, norm gains 1. Writes text no one can
/// read, but runs every line of the code.
LlamaWeights llama_random(const LlamaConfig& c, Rng& rng);

/// \brief Rotary position embedding (Su et al. 2021) of one head's vectors.
///
/// Row t is the vector at position \f$p = \f$ first_position + t. Each pair
/// \f$(x_{2i}, x_{2i+1})\f$ is rotated by the angle \f$p\,\theta^{-2i/d}\f$:
/// \f$x'_{2i} = x_{2i}\cos - x_{2i+1}\sin\f$, \f$x'_{2i+1} = x_{2i}\sin + x_{2i+1}\cos\f$.
/// \param x `[T, d]`, d even
/// \param first_position the position of row 0
/// \param theta the base, 10000 in Llama and Llama 2
/// \return `[T, d]`
Matrix rope(const Matrix& x, std::size_t first_position, float theta = 10000.0f);

/// cos and sin of RoPE's angles \f$p\,\theta^{-2i/d}\f$ for the positions
/// p = first_position, ..., first_position + positions - 1 (rows) and the d/2 pairs i
/// (columns): what rope() rotates by, and the two tables a llama2.c checkpoint stores.
struct RopeTables {
    Matrix cos;  ///< `[positions, d / 2]`
    Matrix sin;  ///< `[positions, d / 2]`
};

/// The tables for `positions` positions from first_position; d even, theta above 1.
RopeTables rope_tables(std::size_t first_position, std::size_t positions, std::size_t d,
                       float theta);

/// Rotates the d/2 pairs of one vector in place by the angles whose cos and sin are given
/// (a row of RopeTables): the rotation rope() applies to one row.
void rope_rotate(float* x, std::size_t d, const float* cos, const float* sin);

/// rope() applied to every head of `[n_heads, T, d_head]`, in place.
void rope_heads(Tensor3& heads, std::size_t first_position, float theta);

/// One Llama block, queries at positions first_position..:
/// \f$h = x + \mathrm{Attn}(\mathrm{RMSNorm}(x))\f$ with RoPE on queries and keys and a
/// causal mask, then \f$y = h + \mathrm{SwiGLU}(\mathrm{RMSNorm}(h))\f$. The attention is
/// chapter 04's, with the keys and values from `source` when one is given (CachedLlama's
/// cache, which stores the rotated keys and returns every position it holds); the new
/// tokens are then the last of the keys, and each sees the keys up to its own position.
/// \param x `[T, dim]`
/// \param w the block
/// \param first_position the position of row 0
/// \param c the configuration (theta, epsilon)
/// \param source where the keys and values come from; empty: the T new ones
/// \param caller the function named in an error
/// \return `[T, dim]`
Matrix llama_block(const Matrix& x, const LlamaLayer& w, std::size_t first_position,
                   const LlamaConfig& c, const KeyValueSource& source = {},
                   const char* caller = "attn::llama_block");

/// A Llama: a configuration and weights that fit it.
class Llama {
public:
    /// Checks every weight's shape against the configuration; throws std::invalid_argument
    /// naming the weight (e.g. `layers[1].w_k`) otherwise.
    Llama(LlamaConfig config, LlamaWeights weights);

    /// The model's shape.
    const LlamaConfig& config() const { return config_; }
    /// The model's weights.
    const LlamaWeights& weights() const { return weights_; }

    /// The rows of the token embedding: no positions are added (RoPE puts them in the
    /// attention). Throws std::invalid_argument naming `caller` for an empty sequence or a
    /// token outside the vocabulary.
    Matrix embed(const std::vector<std::size_t>& tokens, const char* caller) const;

    /// The final RMSNorm, then the classifier. \param h `[T, dim]` \return `[T, vocab_size]`
    Matrix output_logits(const Matrix& h) const;

    /// The next-token logits at every position, recomputing everything (no cache).
    /// \param tokens 1..seq_len token ids
    /// \return `[T, vocab_size]`
    Matrix logits(const std::vector<std::size_t>& tokens) const;

private:
    LlamaConfig config_;
    LlamaWeights weights_;
};

/// A Llama that generates with chapter 06's KV cache, one `[n_kv_heads, seq_len, d_head]`
/// block of keys and one of values per layer. The keys are cached after their rotation,
/// so a cached key is never rotated again.
class CachedLlama {
public:
    /// A cache for seq_len positions. The model must outlive this object.
    explicit CachedLlama(const Llama& model);

    /// Clears the cache and runs the prompt through forward(). Throws
    /// std::invalid_argument, the cache untouched, for an empty prompt, an id outside the
    /// vocabulary or more than seq_len tokens.
    /// \return `[T, vocab_size]`, the same logits as Llama::logits(prompt)
    Matrix prefill(const std::vector<std::size_t>& prompt);

    /// Runs tokens at the next positions through every llama_block(), their keys and
    /// values stored in the cache and attending over all it holds: prefill() with a prompt,
    /// and one decode step with one token (decode() computes the same, faster).
    /// \return `[tokens.size(), vocab_size]`
    Matrix forward(const std::vector<std::size_t>& tokens);

    /// Runs one token at position position(): every weight matrix, as stored, in a
    /// matrix-vector product, attention over the cache read in place (decode_kernels.hpp). Throws
    /// std::invalid_argument before prefill() and when the cache is full.
    /// \return `[vocab_size]`
    Vector decode(std::size_t token);

    /// How many positions the cache holds.
    std::size_t position() const { return cache_.length(); }
    /// The cache itself.
    const KVCache& cache() const { return cache_; }

private:
    const Llama& model_;
    KVCache cache_;
    RopeTables rope_;  // every position's angles, computed once
};

/// How the next token is chosen.
struct Sampling {
    float temperature = 0.0f;  ///< 0: greedy; otherwise logits / temperature
    float top_p = 0.9f;        ///< nucleus sampling; 1 (or 0) samples the whole distribution
};

/// A token drawn from the smallest set of most likely tokens whose probabilities add up to
/// more than top_p (Holtzman et al. 2019), after dividing the logits by the temperature.
/// \param logits `[vocab_size]`
/// \param s temperature above 0, top_p in [0, 1]
/// \param coin a uniform number in [0, 1): the draw
std::size_t sample_top_p(const Vector& logits, const Sampling& s, float coin);

/// Greedy for temperature 0, otherwise sample_top_p() with a number from `rng`. Throws
/// std::invalid_argument naming pick_token for empty logits, a negative temperature or a
/// top_p outside [0, 1].
std::size_t pick_token(const Vector& logits, const Sampling& s, Rng& rng);

/// Generates up to `steps` tokens after the prompt with the cache, calling `on_token` with
/// each new token as soon as it is chosen; generation stops early when on_token returns
/// false or the context is full. Throws std::invalid_argument, before anything runs, for an
/// empty prompt, an id outside the vocabulary, settings pick_token() refuses, or a prompt
/// that leaves no room in seq_len.
/// \return the prompt and the new tokens
std::vector<std::size_t> llama_generate(const Llama& model, std::vector<std::size_t> prompt,
                                        std::size_t steps, const Sampling& s, Rng& rng,
                                        const std::function<bool(std::size_t)>& on_token);

/// Bytes of weights one decode step reads: every matrix and norm of the blocks, the final
/// norm, the whole classifier and one embedding row.
std::size_t weight_bytes_per_token(const LlamaConfig& c);

/// The parameters of a configuration (the shared classifier counted once).
std::size_t llama_parameters(const LlamaConfig& c);

}  // namespace attn
