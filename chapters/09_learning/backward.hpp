/// \file
/// \brief Chapter 09: the backward pass of every piece of the chapter-05 GPT. Each function
/// takes what its forward pass saw and the gradient of the loss with respect to its output
/// (`dy`, the same shape as the output) and returns the gradients with respect to its
/// inputs and parameters: the chain rule, one piece at a time.
#pragma once

#include "chapters/05_transformer_block/transformer_block.hpp"
#include "common/matmul.hpp"
#include "common/tensor.hpp"

#include <cstddef>
#include <vector>

namespace attn {

// Products: common/matmul.hpp's matmul(), whose Read flags give the transposes backward
// passes are full of (a^T b, a b^T) without a copy; a layer's forward is chapter 04's
// project(x, W, b).

/// The gradients of \f$y = x W + b\f$.
struct LinearGradients {
    Matrix dx;  ///< `[T, in]`:  \f$dy\,W^\top\f$
    Matrix dw;  ///< `[in, out]`: \f$x^\top dy\f$, a sum over the tokens
    Vector db;  ///< `[out]`:     the column sums of dy
};

/// Backward of a linear layer \f$y = x W + b\f$ (the bias's gradient is returned whether or
/// not the layer has one).
/// \param x `[T, in]`, the layer's input
/// \param w `[in, out]`
/// \param dy `[T, out]`
LinearGradients linear_backward(const Matrix& x, const Matrix& w, const Matrix& dy);

/// Backward of a row softmax \f$P = \mathrm{softmax}(S)\f$, given P itself:
/// \f$dS = P \circ (dP - \mathrm{rowsum}(dP \circ P))\f$. A weight of 0 (a masked key) gets
/// a gradient of 0.
/// \param p `[T_q, T_k]`, the softmax's output
/// \param dp `[T_q, T_k]`
/// \return `[T_q, T_k]`
Matrix softmax_backward(const Matrix& p, const Matrix& dp);

/// The gradients of one head's attention.
struct AttentionGradients {
    Matrix dq;  ///< `[T, d]`
    Matrix dk;  ///< `[T, d]`
    Matrix dv;  ///< `[T, d]`
};

/// Backward of scaled dot-product attention for one head, given its weights P:
/// \f$O = P V\f$, \f$P = \mathrm{softmax}(\mathrm{mask}(Q K^\top / \sqrt{d}))\f$ give
/// \f$dV = P^\top dO\f$, \f$dP = dO\,V^\top\f$, \f$dS = \f$ softmax_backward(P, dP), then
/// \f$dQ = dS\,K / \sqrt{d}\f$ and \f$dK = dS^\top Q / \sqrt{d}\f$. Any mask: a masked
/// key has weight 0, so its gradient is 0.
/// \param p `[T_q, T_k]`, the forward pass's weights
/// \param q `[T_q, d]` \param k `[T_k, d]` \param v `[T_k, d_v]` \param d_out `[T_q, d_v]`
AttentionGradients attention_backward(const Matrix& p, const Matrix& q, const Matrix& k,
                                      const Matrix& v, const Matrix& d_out);

/// attention_backward() for causal attention, with P recomputed from Q and K (chapter 03's
/// masked attention), as FlashAttention's backward pass does.
/// \param q `[T, d]` \param k `[T, d]` \param v `[T, d]` \param d_out `[T, d]`
AttentionGradients causal_attention_backward(const Matrix& q, const Matrix& k, const Matrix& v,
                                             const Matrix& d_out);

/// One sequence's heads in multi_head_attention_forward(): what its backward pass needs.
struct SequenceHeads {
    Tensor3 q;        ///< `[n_heads, T, d_head]`
    Tensor3 k;        ///< `[n_kv_heads, T, d_head]`
    Tensor3 v;        ///< `[n_kv_heads, T, d_head]`
    Tensor3 weights;  ///< `[n_heads, T, T]`, each head's P
};

/// Chapter 04's causal multi-head attention over a batch of sequences packed into the rows
/// of one matrix, keeping what its backward pass needs.
struct MultiHeadForward {
    std::vector<std::size_t> starts;       ///< sequence s is rows starts[s] .. starts[s+1] - 1
    std::vector<SequenceHeads> sequences;  ///< one per sequence
    Matrix merged;                         ///< `[N, d_model]`, the heads side by side, W_o's input
    Matrix output;                         ///< `[N, d_model]`, the layer's output
};

/// The forward pass of chapter 04's causal layer (with its biases), its activations kept.
/// The projections see all N rows at once (one matrix product each, whatever the number of
/// sequences); the attention itself runs per sequence, so that no token sees another
/// sequence's tokens: the same as a block-diagonal causal mask, without its N x N scores.
/// \param x `[N, d_model]`, the sequences' rows one after another \param w the layer
/// \param starts where each sequence begins, then N (for example {0, 7, 15} for two of 7 and
/// 8 tokens); empty: x is one sequence
MultiHeadForward multi_head_attention_forward(const Matrix& x, const MultiHeadWeights& w,
                                              const std::vector<std::size_t>& starts = {});

/// The gradients of chapter 04's multi-head attention layer (with biases, GPT-2's).
struct MultiHeadGradients {
    Matrix dx;             ///< `[N, d_model]`
    MultiHeadWeights d_w;  ///< the same shapes as the weights, biases included
};

/// Backward of chapter 04's causal multi-head attention \f$Y = \mathrm{merge}(\mathrm{heads})
/// W_o + b_o\f$: the output projection's backward, then the merge's (a split: each head gets
/// its columns of the gradient), each head's attention backward, the split's (a merge), and
/// the three projections' backward; x gets the sum of the three. Grouped-query heads add
/// their gradients into the key/value head they share.
/// \param x `[N, d_model]` \param w the layer, with biases
/// \param forward multi_head_attention_forward(x, w, starts) \param dy `[N, d_model]`
MultiHeadGradients multi_head_attention_backward(const Matrix& x, const MultiHeadWeights& w,
                                                 const MultiHeadForward& forward, const Matrix& dy);

/// The gradients of layer norm.
struct LayerNormGradients {
    Matrix dx;     ///< `[T, d]`
    Vector dgain;  ///< `[d]`: \f$\sum_t dy_t \circ \hat{x}_t\f$
    Vector dbias;  ///< `[d]`: \f$\sum_t dy_t\f$
};

/// Backward of chapter 05's layer norm \f$y = g \circ \hat{x} + b\f$,
/// \f$\hat{x} = (x - \mu) / \sigma\f$, \f$\sigma = \sqrt{\mathrm{var}(x) + \epsilon}\f$,
/// row by row: with \f$u = dy \circ g\f$,
/// \f$dx = \frac{1}{\sigma}\left(u - \mathrm{mean}(u) - \hat{x}\,\mathrm{mean}(u \circ \hat{x})\right)\f$.
/// The two mean terms are the gradient flowing through \f$\mu\f$ and \f$\sigma\f$.
/// \param x `[T, d]` \param gain `[d]` \param dy `[T, d]` \param eps as in the forward pass
LayerNormGradients layer_norm_backward(const Matrix& x, const Vector& gain, const Matrix& dy,
                                       float eps = 1e-5f);

/// Backward of chapter 05's tanh GELU, elementwise: with
/// \f$u = \sqrt{2/\pi}\,(x + 0.044715 x^3)\f$,
/// \f$\frac{d}{dx}\mathrm{GELU}(x) = \frac{1}{2}(1 + \tanh u) + \frac{x}{2}(1 - \tanh^2 u)\,
/// \sqrt{2/\pi}\,(1 + 3 \cdot 0.044715 x^2)\f$.
/// \param x `[T, d]`, the input \param dy `[T, d]` \return `[T, d]`
Matrix gelu_backward(const Matrix& x, const Matrix& dy);

/// The gradients of RMSNorm.
struct RmsNormGradients {
    Matrix dx;     ///< `[T, d]`
    Vector dgain;  ///< `[d]`: \f$\sum_t dy_t \circ x_t / r_t\f$
};

/// Backward of chapter 05's RMSNorm \f$y = g \circ x / r\f$, \f$r = \sqrt{\mathrm{mean}(x^2) +
/// \epsilon}\f$, the Llama's norm, row by row: with \f$u = dy \circ g\f$,
/// \f$dx = \frac{1}{r}\left(u - x\,\frac{\mathrm{mean}(u \circ x)}{r^2}\right)\f$.
/// Layer norm's backward without the mean's term: nothing is subtracted, so nothing flows
/// through a mean; the one term left is the gradient through r.
/// \param x `[T, d]` \param gain `[d]` \param dy `[T, d]` \param eps as in the forward pass
RmsNormGradients rms_norm_backward(const Matrix& x, const Vector& gain, const Matrix& dy,
                                   float eps = 1e-5f);

/// Backward of chapter 08's rope(): a rotation is undone by its transpose, the rotation by
/// the opposite angle, so \f$dx_{2i} = dy_{2i}\cos + dy_{2i+1}\sin\f$,
/// \f$dx_{2i+1} = -dy_{2i}\sin + dy_{2i+1}\cos\f$. RoPE has no parameters: only dx.
/// \param dy `[T, d]`, d even \param first_position the position of row 0
/// \param theta the base, as in the forward pass \return `[T, d]`
Matrix rope_backward(const Matrix& dy, std::size_t first_position, float theta = 10000.0f);

/// rope_rotate() undone: the d/2 pairs of one vector rotated back by the angles whose cos
/// and sin are given (a row of RopeTables), in place. What rope_backward() does to a row.
void rope_rotate_back(float* x, std::size_t d, const float* cos, const float* sin);

/// The gradients of SwiGLU's gate.
struct SiluGateGradients {
    Matrix d_gate;  ///< `[T, hidden]`
    Matrix d_up;    ///< `[T, hidden]`
};

/// Backward of chapter 05's silu_gate() \f$y = \mathrm{SiLU}(a) \circ b\f$,
/// \f$\mathrm{SiLU}(a) = a\,\sigma(a)\f$, elementwise: \f$db = dy \circ a\,\sigma(a)\f$ and
/// \f$da = dy \circ b\,\sigma(a)\,(1 + a\,(1 - \sigma(a)))\f$, the product rule on
/// \f$a\,\sigma(a)\f$ with \f$\sigma' = \sigma(1 - \sigma)\f$.
/// \param gate `[T, hidden]`, a (x W_gate) \param up `[T, hidden]`, b (x W_up)
/// \param dy `[T, hidden]`
SiluGateGradients silu_gate_backward(const Matrix& gate, const Matrix& up, const Matrix& dy);

/// Backward of an embedding lookup \f$x_t = E_{token_t}\f$: a scatter-add, row t of dy into
/// row token_t of the result; a token used twice gets both rows' gradients.
/// \param tokens T ids below vocab_size \param dy `[T, d]` \param vocab_size rows of E
/// \return `[vocab_size, d]`
Matrix embedding_backward(const std::vector<std::size_t>& tokens, const Matrix& dy,
                          std::size_t vocab_size);

/// The mean cross-entropy of next-token logits and its gradient.
struct CrossEntropy {
    double loss = 0.0;  ///< \f$-\frac{1}{N}\sum_t \log \mathrm{softmax}(z_t)_{target_t}\f$
    Matrix dlogits;     ///< `[N, vocab_size]`: \f$(\mathrm{softmax}(z) - \mathrm{onehot}) / N\f$
};

/// Cross-entropy of logits `[N, vocab_size]` against N target ids, averaged over the N rows
/// (PyTorch's `F.cross_entropy`), computed through the log-sum-exp so that large logits do
/// not overflow.
CrossEntropy cross_entropy(const Matrix& logits, const std::vector<std::size_t>& targets);

}  // namespace attn
