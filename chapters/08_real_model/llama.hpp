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

/// Where a Llama block keeps the keys and values of the rows it runs: the one small
/// interface the block reads and writes through. ContiguousKV puts one sequence in chapter
/// 06's cache; chapter 10's paged cache holds many sequences in blocks. A step's rows are
/// tokens at known positions (a prompt's, or one new token of each of several sequences).
class LlamaKV {
public:
    virtual ~LlamaKV() = default;
    /// Stores the step's rotated keys and its values, row r at its own position.
    /// \param layer the block \param keys `[rows, n_kv_heads * d_head]` \param values the same
    virtual void store(std::size_t layer, const Matrix& keys, const Matrix& values) = 0;
    /// One query head of row r attends over its sequence's positions up to its own:
    /// \f$\mathrm{softmax}(K q / \sqrt{d})\, V\f$ over key/value head `kv_head`.
    /// \param layer the block \param row the row of the step \param kv_head the key/value head
    /// \param q `[d_head]` \param out `[d_head]`, the result \param scores room for as many
    /// numbers as the row's position + 1
    virtual void attend(std::size_t layer, std::size_t row, std::size_t kv_head, const float* q,
                        float* out, float* scores) const = 0;
};

/// One sequence in chapter 06's contiguous cache: the step's rows are the cache's next
/// positions, row r at cache.length() + r (as the cache was when this view was made).
class ContiguousKV final : public LlamaKV {
public:
    /// The cache must outlive this object and have room for the step's rows.
    explicit ContiguousKV(KVCache& cache) : cache_(cache), start_(cache.length()) {}
    /// Appends the rows to the layer's keys and values.
    void store(std::size_t layer, const Matrix& keys, const Matrix& values) override;
    /// attend_one() (decode_kernels.hpp) over the cached rows 0..start + row, read in place.
    void attend(std::size_t layer, std::size_t row, std::size_t kv_head, const float* q, float* out,
                float* scores) const override;

private:
    KVCache& cache_;
    std::size_t start_;
};

/// A sliding window (Mistral 7B's attention, window 4096): each layer keeps the last
/// `window` positions in chapter 06's ring buffer, and a query attends over those. The order
/// of the slots does not matter to a softmax, and each key was rotated for its own position
/// when it was stored, so the ring's order is never undone. A step is one row (a prompt runs
/// token by token): with more, the earlier rows would see keys stored after them.
class WindowKV final : public LlamaKV {
public:
    /// One ring of `window` positions per layer of the configuration.
    WindowKV(const LlamaConfig& c, std::size_t window);
    /// Appends the row's key and value to the layer's ring, over the oldest once it is full.
    /// Throws std::invalid_argument naming attn::WindowKV::store for a step of several rows.
    void store(std::size_t layer, const Matrix& keys, const Matrix& values) override;
    /// attend_one() over the ring's kept positions, read in place.
    void attend(std::size_t layer, std::size_t row, std::size_t kv_head, const float* q, float* out,
                float* scores) const override;

private:
    std::vector<RingKVCache> rings_;  // one per layer
};

/// How a block multiplies its rows by one of its weights; empty: project(), which gives a
/// single row to the decode kernel project_row() and more rows to BLAS. Chapter 10 passes its
/// packed kernel for thin batches.
using Projector = std::function<Matrix(const Matrix& x, const LinearWeight& w)>;

/// What a block does with the output of its attention and of its feed-forward network
/// before adding it to the residual stream; empty: nothing. Under tensor parallelism
/// (chapter 11) each process computes a part of both, and this sums the parts of all.
using Reduce = std::function<void(Matrix& partial)>;

/// What llama_block() computed on the way, kept when the caller gives it one: everything
/// chapter 09's backward pass reads. Row r of each is row r of the step.
struct LlamaBlockActivations {
    Matrix input;            ///< `[rows, dim]`, the block's input x
    Matrix attention_input;  ///< RMSNorm(x), what W_q, W_k and W_v see
    Matrix queries;          ///< `[rows, n_heads * d_head]`, rotated by each row's position
    Matrix keys;             ///< `[rows, n_kv_heads * d_head]`, rotated
    Matrix values;           ///< `[rows, n_kv_heads * d_head]`
    /// `[rows, n_heads, the largest position + 1]`: row r's attention weights P over the
    /// positions 0..positions[r] of its sequence, 0 after them, as the cache's attend() left
    /// them in `scores` (a cache that attends over every position up to the row's own, as
    /// ContiguousKV and chapter 09's packed batch do; a sliding window or a sharded cache
    /// leaves other numbers there)
    Tensor3 attention_weights;
    Matrix attended;   ///< `[rows, n_heads * d_head]`, the heads side by side, W_o's input
    Matrix residual;   ///< `[rows, dim]`, h = x + attended W_o
    Matrix ffn_input;  ///< RMSNorm(h), what W_gate and W_up see
    Matrix gate;       ///< `[rows, hidden_dim]`, SiLU's input
    Matrix up;         ///< `[rows, hidden_dim]`
    Matrix gated;      ///< SiLU(gate) * up, W_down's input
};

/// \brief One Llama block, the only one the book has: for the rows of a step, in place.
///
/// \f$h = x + \mathrm{Attn}(\mathrm{RMSNorm}(x))\f$ with RoPE on each row's queries and
/// keys at its position, then \f$x = h + \mathrm{SwiGLU}(\mathrm{RMSNorm}(h))\f$. Each row's
/// key and value go into `kv` first, and each query head (grouped: kv_head_for()) attends
/// through `kv` over its sequence's positions up to its own: causal by construction. A
/// prompt, one new token, or one new token of each of many sequences: the same function.
/// The caller has checked the rows (their count, positions and room in the cache). The head
/// size is W_q's rows over n_heads, so a shard of the heads (chapter 11) runs as a block of
/// its own with the same function.
/// \param x `[rows, dim]`, replaced by the block's output
/// \param w the block's weights \param layer the block's index (for the cache)
/// \param positions each row's position (RoPE's angle)
/// \param c the configuration \param rope the angles of every position used
/// \param kv where the keys and values live \param product how the rows meet the weights
/// \param reduce what becomes of each sub-layer's output before the residual add
/// \param keep where to keep what the block computed (training), or none: then it keeps
///        nothing. The weights it keeps are what `kv`'s attend() leaves in `scores`, as
///        ContiguousKV and chapter 10's paged cache do.
void llama_block(Matrix& x, const LlamaLayer& w, std::size_t layer,
                 const std::vector<std::size_t>& positions, const LlamaConfig& c,
                 const RopeTables& rope, LlamaKV& kv, const Projector& product = {},
                 const Reduce& reduce = {}, LlamaBlockActivations* keep = nullptr);

/// llama_block() for one sequence of T tokens on its own, at positions first_position..
/// (they see each other, causally, and nothing before): exercise 8.2's block, on a cache of
/// T positions made for the call. Throws std::invalid_argument naming attn::llama_block when
/// x is not `[T, dim]` or the configuration is refused.
/// \return `[T, dim]`
Matrix llama_block(const Matrix& x, const LlamaLayer& w, std::size_t first_position,
                   const LlamaConfig& c);

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

    /// The next-token logits at every position: the tokens run as a prompt through a cache
    /// made for the call (CachedLlama::prefill()).
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
    /// and decode() with one token. Throws std::invalid_argument, the cache untouched, for
    /// no token, an id outside the vocabulary or more tokens than the cache has room for.
    /// \return `[tokens.size(), vocab_size]`
    Matrix forward(const std::vector<std::size_t>& tokens);

    /// Runs one token at position position(): forward() with one row, where every weight
    /// meets it in the decode kernel project_row() and attention reads the cache in place
    /// (decode_kernels.hpp). Throws std::invalid_argument before prefill() and when the cache
    /// is full.
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
