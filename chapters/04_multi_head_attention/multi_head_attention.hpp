/// \file
/// \brief Chapter 04: several heads side by side, and heads that share keys and values.
///
/// Multi-head attention splits the projected queries, keys and values into `n_heads`
/// contiguous column blocks of `d_head = d_model / n_heads` columns, runs chapter 03's
/// attention in each block on its own, puts the results back side by side and mixes them
/// with an output projection W_o. Grouped-query attention lets several query heads share
/// one key/value head: `n_kv_heads` divides `n_heads`, and query head h uses key/value
/// head `h / (n_heads / n_kv_heads)`.
#pragma once

#include "chapters/02_self_attention/self_attention.hpp"
#include "common/random.hpp"
#include "common/tensor.hpp"

#include <cstddef>
#include <functional>
#include <string>
#include <utility>
#include <vector>

namespace attn {

/// The weights of one multi-head attention layer (no biases, as in Llama).
struct MultiHeadWeights {
    Matrix w_q;  ///< `[d_model, d_model]`: query head h is the column block h*d_head..(h+1)*d_head
    Matrix w_k;  ///< `[d_model, n_kv_heads * d_head]`
    Matrix w_v;  ///< `[d_model, n_kv_heads * d_head]`
    Matrix w_o;  ///< `[d_model, d_model]`: mixes the concatenated head outputs
    std::size_t n_heads = 1;     ///< query heads
    std::size_t n_kv_heads = 1;  ///< key/value heads: n_heads (MHA), fewer (GQA) or 1 (MQA)
    // Biases added after each projection (GPT-2 has them, Llama does not); empty for none.
    Vector b_q{};  ///< `[d_model]` or empty
    Vector b_k{};  ///< `[n_kv_heads * d_head]` or empty
    Vector b_v{};  ///< `[n_kv_heads * d_head]` or empty
    Vector b_o{};  ///< `[d_model]` or empty
};

/// Throws std::invalid_argument naming `caller` unless n_kv_heads key/value heads serve
/// equal groups of the n_heads query heads (n_kv_heads at least 1 and dividing n_heads).
void check_kv_heads(const char* caller, std::size_t n_heads, std::size_t n_kv_heads);

/// Whether a layer's biases may be empty: `optional` (each empty, or as wide as its
/// projection), `required` (GPT-2), `none` (Llama).
enum class Biases { optional, required, none };

/// Throws std::invalid_argument naming `caller` and the weight unless a layer's weights fit
/// `d_model`: n_heads divides it, n_kv_heads divides n_heads, W_q and W_o are
/// `[d_model, d_model]`, W_k and W_v `[d_model, n_kv_heads * d_head]`, and the biases are as
/// `biases` says. `prefix` goes before each weight's name in an error, e.g.
/// "blocks[1].attention.". \return d_head
std::size_t check_attention_weights(const char* caller, std::size_t d_model,
                                    const MultiHeadWeights& w, const std::string& prefix = "",
                                    Biases biases = Biases::optional);

/// \f$x W + b\f$, or \f$x W\f$ when `b` is empty (a layer without biases): chapter 02's
/// project() with a bias, in one product (each row of the result starts as b and
/// \f$x W\f$ is added to it: the bias costs no pass of its own).
/// \param x `[T, d_in]` \param w `[d_in, d_out]` \param b `[d_out]` or empty
/// \return `[T, d_out]`
Matrix project(const Matrix& x, const Matrix& w, const Vector& b);

/// `d_model / n_heads`, the width of one head. Throws std::invalid_argument naming
/// `caller` when n_heads is 0 or does not divide d_model.
std::size_t head_size(std::size_t d_model, std::size_t n_heads,
                      const char* caller = "attn::head_size");

/// Splits the columns of x into `n_heads` contiguous blocks, one per head: head h gets
/// columns h*d_head..(h+1)*d_head-1. This is PyTorch's
/// `x.view(T, n_heads, d_head).transpose(0, 1)`.
/// \param x `[T, n_heads * d_head]`
/// \param n_heads at least 1, dividing x's width
/// \param caller the function named in a shape error
/// \return `[n_heads, T, d_head]`
Tensor3 split_heads(const Matrix& x, std::size_t n_heads, const char* caller = "attn::split_heads");

/// The inverse of split_heads(): the heads side by side, in head order.
/// \param heads `[n_heads, T, d_head]`
/// \return `[T, n_heads * d_head]`
Matrix merge_heads(const Tensor3& heads);

/// The key/value head that query head `head` uses: `head / (n_heads / n_kv_heads)`, so
/// that consecutive query heads share one (PyTorch's `repeat_interleave`, as in Llama).
/// Throws std::invalid_argument when n_kv_heads does not divide n_heads or head is out of
/// range.
std::size_t kv_head_for(std::size_t head, std::size_t n_heads, std::size_t n_kv_heads);

/// What multi-head attention computed, step by step.
struct MultiHeadResult {
    Tensor3 weights;  ///< `[n_heads, T, T_k]`, the attention weights of each head
    Matrix heads;     ///< `[T, d_model]`, the head outputs side by side, before W_o
    Matrix output;    ///< `[T, d_model]`, after the output projection W_o
};

/// Multi-head (or grouped-query) self-attention: project, split into heads, attend in each
/// head with chapter 03's masked attention (causal or not), merge, project with W_o. The
/// scores of each head are divided by \f$\sqrt{d_{head}}\f$.
/// \param x `[T, d_model]`
/// \param w the layer's weights; their shapes are checked against x
/// \param causal whether query t may only see keys 0..t
/// \param caller the function named in a shape error
MultiHeadResult multi_head_attention(const Matrix& x, const MultiHeadWeights& w, bool causal,
                                     const char* caller = "attn::multi_head_attention");

/// Where a layer's keys and values come from. Given the keys and values of the new
/// tokens (`[n_kv_heads, T, d_head]` each), it returns those to attend over
/// (`[n_kv_heads, T_k, d_head]`). Self-attention uses the new ones as they are; chapter 06's
/// cache stores them and returns every position it holds.
using KeyValueSource = std::function<std::pair<Tensor3, Tensor3>(Tensor3 keys, Tensor3 values)>;

/// What attend_heads() computed.
struct HeadsResult {
    Tensor3 weights;  ///< `[n_heads, T_q, T_k]`
    Tensor3 outputs;  ///< `[n_heads, T_q, d_head]`
};

/// Every query head attends over its key/value head (kv_head_for()) with chapter 03's
/// masked attention: the one loop over heads of the book, used by the layer below, by
/// chapter 06's cache and by its sliding window.
/// \param q `[n_heads, T_q, d_head]`
/// \param k `[n_kv_heads, T_k, d_head]`, n_kv_heads dividing n_heads
/// \param v `[n_kv_heads, T_k, d_head]`
/// \param allowed `[T_q, T_k]`, true where query i may see key j
/// \param caller the function named in an error
HeadsResult attend_heads(const Tensor3& q, const Tensor3& k, const Tensor3& v, const Mask& allowed,
                         const char* caller = "attn::attend_heads");

/// Multi-head attention with any mask, e.g. chapter 03's sliding window, and keys and
/// values from anywhere (e.g. chapter 06's cache).
/// \param x `[T, d_model]`
/// \param w the layer's weights
/// \param allowed `[T, T_k]`, true where query i may see key j; `T_k = T` unless `source`
///        returns more keys than it is given
/// \param caller the function named in a shape error
/// \param source where the keys and values come from; empty: the new ones (self-attention)
MultiHeadResult multi_head_attention(const Matrix& x, const MultiHeadWeights& w,
                                     const Mask& allowed,
                                     const char* caller = "attn::multi_head_attention",
                                     const KeyValueSource& source = {});

/// The same computation with no loop over heads: every head at once, as tensors with a
/// head axis (how batched matrix products on a GPU do it). Its output equals
/// multi_head_attention()'s.
/// \param x `[T, d_model]`
/// \param w the layer's weights
/// \param causal whether query t may only see keys 0..t
/// \return `[T, d_model]`
Matrix multi_head_attention_batched(const Matrix& x, const MultiHeadWeights& w, bool causal);

/// The plain multi-head layer that computes exactly what a grouped-query layer computes:
/// each key/value head's columns of W_k and W_v copied for every query head of its group,
/// so that n_kv_heads = n_heads.
/// \param w a layer with any n_kv_heads dividing n_heads
MultiHeadWeights with_kv_heads_copied(const MultiHeadWeights& w);

/// Seeded random weights with the usual scale \f$1/\sqrt{d_{model}}\f$.
/// \param d_model the embedding width
/// \param n_heads query heads, dividing d_model
/// \param n_kv_heads key/value heads, dividing n_heads
/// \param rng the random numbers
MultiHeadWeights random_multi_head_weights(std::size_t d_model, std::size_t n_heads,
                                           std::size_t n_kv_heads, Rng& rng);

/// Four heads designed by hand for the running example (d_model = 8, d_head = 2), each
/// following one relation; W_v and W_o are the identity.
MultiHeadWeights designed_heads();

/// The relation each of designed_heads() follows, in head order.
Tokens designed_head_relations();

/// What one attention layer costs.
struct AttentionCost {
    std::size_t parameters;    ///< numbers in W_q, W_k, W_v, W_o
    std::size_t flops;         ///< multiply-adds count 2: projections, scores, weighted sums, W_o
    std::size_t kv_per_token;  ///< keys and values a decoder keeps per token (chapter 06's cache)
};

/// The cost of one attention layer on T tokens.
/// \param d_model the embedding width
/// \param n_heads query heads, dividing d_model
/// \param n_kv_heads key/value heads, dividing n_heads
/// \param T the number of tokens
AttentionCost attention_cost(std::size_t d_model, std::size_t n_heads, std::size_t n_kv_heads,
                             std::size_t T);

}  // namespace attn
