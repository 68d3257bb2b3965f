/// \file
/// \brief Chapter 05: the transformer block (GPT-2's pre-LN form) and its pieces: layer
/// norm, GELU, the feed-forward network; Llama's RMSNorm and SwiGLU.
///
/// A block reads the residual stream x `[T, d_model]` and adds two things to it:
/// \f$h = x + \mathrm{MHA}(\mathrm{LN}_1(x))\f$, then
/// \f$y = h + \mathrm{FFN}(\mathrm{LN}_2(h))\f$, with chapter 04's causal multi-head
/// attention and \f$\mathrm{FFN}(z) = \mathrm{GELU}(z W_1 + b_1) W_2 + b_2\f$.
#pragma once

#include "chapters/04_multi_head_attention/multi_head_attention.hpp"
#include "common/random.hpp"
#include "common/tensor.hpp"

#include <cstddef>
#include <functional>

namespace attn {

/// Layer norm over the features of each token: subtract the row's mean, divide by
/// \f$\sqrt{\sigma^2 + \epsilon}\f$ with the biased variance (divided by d_model), then
/// multiply by `gain` and add `bias`. The mean and variance are computed in double, so a
/// row of +-1e20 (variance 1e40, above float's largest) still normalises to +-1.
/// \param x `[T, d_model]`
/// \param gain `[d_model]`
/// \param bias `[d_model]`
/// \param eps added to the variance inside the square root
/// \return `[T, d_model]`
Matrix layer_norm(const Matrix& x, const Vector& gain, const Vector& bias, float eps = 1e-5f);

/// RMSNorm (Llama): divide each token by the root mean square of its features, then
/// multiply by `gain`. No mean is subtracted and there is no bias.
/// \param x `[T, d_model]`
/// \param gain `[d_model]`
/// \param eps added to the mean square inside the square root
/// \return `[T, d_model]`
Matrix rms_norm(const Matrix& x, const Vector& gain, float eps = 1e-5f);

/// GELU as GPT-2 computes it, with the tanh approximation:
/// \f$\frac{x}{2}\left(1 + \tanh\left(\sqrt{2/\pi}\,(x + 0.044715\,x^3)\right)\right)\f$,
/// element by element.
Matrix gelu(const Matrix& x);

/// The exact GELU, \f$x\,\Phi(x) = \frac{x}{2}\left(1 + \mathrm{erf}(x/\sqrt{2})\right)\f$.
Matrix gelu_exact(const Matrix& x);

/// The weights of GPT-2's feed-forward network.
struct FeedForward {
    Matrix w1;  ///< `[d_model, d_ff]`
    Vector b1;  ///< `[d_ff]`
    Matrix w2;  ///< `[d_ff, d_model]`
    Vector b2;  ///< `[d_model]`
};

/// \f$\mathrm{GELU}(x W_1 + b_1)\, W_2 + b_2\f$, token by token.
/// \param x `[T, d_model]`
/// \param f the weights
/// \param caller the function named in a shape error
/// \return `[T, d_model]`
Matrix feed_forward(const Matrix& x, const FeedForward& f,
                    const char* caller = "attn::feed_forward");

/// The weights of Llama's SwiGLU feed-forward network (no biases).
struct SwiGLUWeights {
    Matrix w_gate;  ///< `[d_model, d_ff]`
    Matrix w_up;    ///< `[d_model, d_ff]`
    Matrix w_down;  ///< `[d_ff, d_model]`
};

/// \f$\left(\mathrm{SiLU}(x W_{gate}) \odot x W_{up}\right) W_{down}\f$ with
/// \f$\mathrm{SiLU}(z) = z / (1 + e^{-z})\f$: one branch gates the other.
/// \param x `[T, d_model]`
/// \param f the weights
/// \return `[T, d_model]`
Matrix swiglu(const Matrix& x, const SwiGLUWeights& f);

/// SwiGLU's middle: \f$\mathrm{SiLU}(g) \odot u\f$, elementwise, for the two branches
/// g = x W_gate and u = x W_up (chapter 08 computes them from weights stored `[out, in]`).
/// \param gate `[T, d_ff]` \param up `[T, d_ff]` \return `[T, d_ff]`
Matrix silu_gate(const Matrix& gate, const Matrix& up);

/// The weights of one block: two layer norms, the attention layer, the feed-forward network.
struct BlockWeights {
    Vector ln1_gain;             ///< `[d_model]`
    Vector ln1_bias;             ///< `[d_model]`
    MultiHeadWeights attention;  ///< chapter 04's layer, used causally
    Vector ln2_gain;             ///< `[d_model]`
    Vector ln2_bias;             ///< `[d_model]`
    FeedForward ffn;             ///< d_ff = 4 d_model in GPT-2
};

/// The pre-LN block (GPT-2): \f$h = x + \mathrm{MHA}(\mathrm{LN}_1(x))\f$,
/// \f$y = h + \mathrm{FFN}(\mathrm{LN}_2(h))\f$, attention causal.
/// \param x `[T, d_model]`, the residual stream
/// \param w the block's weights
/// \return `[T, d_model]`
Matrix transformer_block(const Matrix& x, const BlockWeights& w);

/// What transformer_block() computed on the way, kept when the caller gives it one: what
/// chapter 09's backward pass reads. Row t of each is the block's row t. (The attention
/// sub-layer keeps its own, when its caller asks it to.)
struct BlockActivations {
    Matrix input;            ///< `[T, d_model]`, the block's input x
    Matrix attention_input;  ///< LN1(x), what the attention sub-layer reads
    Matrix residual;         ///< `[T, d_model]`, h = x + attention
    Matrix ffn_input;        ///< LN2(h), W_1's input
    Matrix hidden;           ///< `[T, d_ff]`, LN2(h) W_1 + b_1, GELU's input
    Matrix activated;        ///< `[T, d_ff]`, GELU(hidden), W_2's input
};

/// A block's attention sub-layer as the block calls it: LN1(x) `[T, d_model]` in, the
/// attention's output `[T, d_model]` out.
using AttentionLayer = std::function<Matrix(const Matrix& attention_input)>;

/// \brief The GPT block, the only one the book has: its attention sub-layer given.
///
/// The causal form above calls it with chapter 04's layer, and so does Gpt::logits();
/// chapter 06 gives it an attention that reads and writes its cache, chapter 09 one that
/// runs over a batch of sequences packed one below the other, keeping its heads for the
/// backward pass. The caller has checked x against w.
/// \param x `[T, d_model]`, the residual stream
/// \param w the block's weights (its norms and feed-forward network; the attention's are
///        the sub-layer's)
/// \param attention the attention sub-layer
/// \param keep where to keep what the block computed (training), or none
/// \return `[T, d_model]`
Matrix transformer_block(const Matrix& x, const BlockWeights& w, const AttentionLayer& attention,
                         BlockActivations* keep = nullptr);

/// The post-LN block of the original transformer (Vaswani et al. 2017):
/// \f$h = \mathrm{LN}_1(x + \mathrm{MHA}(x))\f$, \f$y = \mathrm{LN}_2(h + \mathrm{FFN}(h))\f$.
/// \param x `[T, d_model]`
/// \param w the block's weights
/// \return `[T, d_model]`
Matrix post_ln_block(const Matrix& x, const BlockWeights& w);

/// A block with GPT-2's initialisation: every weight \f$N(0, 0.02)\f$, the two projections
/// that write into the residual stream (W_o and W_2) scaled by \f$1/\sqrt{2 n_{layers}}\f$,
/// biases 0, norm gains 1. With `bias` false the attention has no biases.
/// \param d_model the width of the residual stream
/// \param n_heads query heads, dividing d_model
/// \param n_kv_heads key/value heads, dividing n_heads
/// \param d_ff the feed-forward width
/// \param n_layers the depth of the model the block is for
/// \param rng the random numbers
/// \param bias whether the attention projections have biases (GPT-2: yes)
BlockWeights gpt2_block(std::size_t d_model, std::size_t n_heads, std::size_t n_kv_heads,
                        std::size_t d_ff, std::size_t n_layers, Rng& rng, bool bias = true);

}  // namespace attn
