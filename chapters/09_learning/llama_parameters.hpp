/// \file
/// \brief Chapter 09: every number of chapter 08's Llama in one buffer, as llm.c keeps a
/// model it trains. The tensors lie in the order of a llama2.c checkpoint; named views
/// point into the buffer (const for reading, mutable for the optimiser), the gradients are a
/// second buffer of the same layout, and AdamW is one loop over the pair.
#pragma once

#include "chapters/08_real_model/llama.hpp"
#include "chapters/09_learning/adamw.hpp"
#include "common/random.hpp"

#include <cstddef>
#include <string>
#include <vector>

namespace attn {

/// One tensor's place in the buffer.
struct TensorSlot {
    std::string name;        ///< e.g. "layers[1].w_k"
    std::size_t offset = 0;  ///< its first number's index in the buffer
    std::size_t size = 0;    ///< how many numbers
    std::size_t rows = 0;    ///< `[rows, cols]` as stored (`[out, in]` for a matrix)
    std::size_t cols = 0;    ///< 1 for a norm's gain: `[d, 1]`
    bool decays = false;     ///< a block's matrix: AdamW's weight decay applies
};

/// The tensors of one block, as pointers into the buffer: `float` to write (the
/// optimiser, the gradients), `const float` to read (the forward pass).
template <class T>
struct LlamaLayerTensors {
    T* attention_norm;  ///< `[dim]`
    T* w_q;             ///< `[n_heads * d_head, dim]`
    T* w_k;             ///< `[n_kv_heads * d_head, dim]`
    T* w_v;             ///< `[n_kv_heads * d_head, dim]`
    T* w_o;             ///< `[dim, n_heads * d_head]`
    T* ffn_norm;        ///< `[dim]`
    T* w_gate;          ///< `[hidden_dim, dim]`
    T* w_up;            ///< `[hidden_dim, dim]`
    T* w_down;          ///< `[dim, hidden_dim]`
};

/// Every tensor of a Llama, as pointers into the buffer. The classifier is the embedding.
template <class T>
struct LlamaTensors {
    T* token_embedding;                        ///< `[vocab_size, dim]`
    std::vector<LlamaLayerTensors<T>> layers;  ///< n_layers blocks
    T* final_norm;                             ///< `[dim]`
};

/// The numbers of a Llama with a tied classifier, in one buffer, in llama2.c's file order:
/// the embedding, each kind of block tensor for every layer in turn (attention norms, W_q,
/// W_k, W_v, W_o, feed-forward norms, W_gate, W_down, W_up), the final norm. A model's
/// weights and its gradients are two of these.
class LlamaParameters {
public:
    /// Zeros for `c`. Throws std::invalid_argument naming attn::LlamaParameters for a
    /// configuration check_config() refuses or one with an untied classifier.
    explicit LlamaParameters(const LlamaConfig& c);
    /// The shape.
    const LlamaConfig& config() const { return config_; }
    /// How many numbers.
    std::size_t size() const { return values_.size(); }
    /// The first number.
    float* data() { return values_.data(); }
    /// The first number.
    const float* data() const { return values_.data(); }
    /// Every tensor's name and place, in buffer order.
    const std::vector<TensorSlot>& slots() const { return slots_; }
    /// Named views to write through.
    LlamaTensors<float> tensors();
    /// Named views to read through.
    LlamaTensors<const float> tensors() const;
    /// Every number set to 0 (the gradients, before a backward pass adds into them).
    void zero();

private:
    LlamaConfig config_;
    std::vector<float> values_;
    std::vector<TensorSlot> slots_;
};

/// GPT-2's initialisation, for a Llama (seeded): the embedding and every matrix
/// \f$N(0, 0.02)\f$, W_o and W_down (the projections into the residual stream) scaled by
/// \f$1/\sqrt{2 n_{layers}}\f$, the norms' gains 1.
LlamaParameters llama_init(const LlamaConfig& c, Rng& rng);

/// Chapter 08's Llama of these numbers (a copy of the buffer, made once: its matrices point
/// into it), to run, save with write_checkpoint() and serve.
Llama to_llama(const LlamaParameters& p);

/// The numbers of a Llama with a tied classifier, copied into a buffer (to train a model
/// read from a checkpoint further). Throws std::invalid_argument naming attn::from_llama
/// when the classifier is not the embedding.
LlamaParameters from_llama(const Llama& model);

/// AdamW over a whole buffer: one moment pair per number, and one loop (AdamW::step's
/// update, with the weight decay of the slots that decay).
class BufferAdamW {
public:
    /// Moments of zero for `p`'s layout.
    explicit BufferAdamW(const LlamaParameters& p, AdamWSettings settings = {});
    /// One step: `p` moves against `gradients` (the same layout) with `learning_rate`.
    /// Throws std::invalid_argument for a learning rate not above 0 or not finite, or
    /// buffers of another size than the optimiser's.
    void step(LlamaParameters& p, const LlamaParameters& gradients, float learning_rate);
    /// Steps taken.
    std::size_t steps() const { return steps_; }

private:
    AdamWSettings settings_;
    std::vector<float> m_, v_;
    std::size_t steps_ = 0;
};

/// clip_gradients() for a buffer: the global norm over all its numbers, scaled down to
/// max_norm when above it. \return the norm before clipping
double clip_gradients(LlamaParameters& gradients, double max_norm);

}  // namespace attn
