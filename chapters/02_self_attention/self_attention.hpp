/// \file
/// \brief Chapter 02: self-attention, a sequence attending to itself through learned
/// projections.
///
/// Queries, keys and values are all computed from the same inputs X:
/// \f$Q = X W_q\f$, \f$K = X W_k\f$, \f$V = X W_v\f$, and then chapter 01's scaled
/// dot-product attention runs on them.
#pragma once

#include "chapters/01_single_head_attention/single_head_attention.hpp"
#include "common/random.hpp"
#include "common/tensor.hpp"

#include <cstddef>
#include <vector>

namespace attn {

/// The three learned matrices of one self-attention head.
struct Projections {
    Matrix w_q;  ///< `[d_model, d_k]` turns a token into what it looks for (its query)
    Matrix w_k;  ///< `[d_model, d_k]` turns a token into how it can be found (its key)
    Matrix w_v;  ///< `[d_model, d_v]` turns a token into what it hands over (its value)
};

/// Queries, keys and values of a sequence.
struct QKV {
    Matrix q;  ///< `[T, d_k]`
    Matrix k;  ///< `[T, d_k]`
    Matrix v;  ///< `[T, d_v]`
};

/// One linear projection of every token: \f$X W\f$, with W stored as the book writes it,
/// `[in, out]`. The book's one product \f$x W\f$: chapter 04 adds a bias, chapter 08 a
/// weight stored `[out, in]` as checkpoints keep it (a LinearWeight), each an overload of
/// this name whose weight's type says its layout.
/// \param x `[T, d_model]` one token per row
/// \param w `[d_model, d_out]`
/// \return `[T, d_out]`
Matrix project(const Matrix& x, const Matrix& w);

/// \f$Q = X W_q\f$, \f$K = X W_k\f$, \f$V = X W_v\f$.
/// \param x `[T, d_model]`
/// \param p projections with `d_model` rows each, and W_q, W_k of the same width d_k
/// \param caller the function named in a shape error: a function that calls project_qkv()
///        passes its own name, so the error names the function its caller called
QKV project_qkv(const Matrix& x, const Projections& p, const char* caller = "attn::project_qkv");

/// Self-attention: the sequence attends to itself,
/// \f$\mathrm{softmax}(Q K^\top / \sqrt{d_k})\, V\f$ with Q, K, V from project_qkv().
/// \param x `[T, d_model]`
/// \param p the head's projections
/// \return weights `[T, T]` and output `[T, d_v]`
AttentionResult self_attention(const Matrix& x, const Projections& p);

/// Random projections as a model has them before training: entries drawn from
/// \f$N(0, 1/d_{model})\f$, so projected vectors keep about the scale of the inputs.
Projections random_projections(std::size_t d_model, std::size_t d_k, std::size_t d_v, Rng& rng);

/// The hand-designed head of chapter 02, for the running example's 8 features: verbs and
/// adjectives look for an animal noun, tokens look for their own clause, determiners for
/// a noun, nouns for a verb. \f$W_k = W_v = I\f$: keys and values are the features.
/// \return projections with d_model = d_k = d_v = 8
Projections designed_head();

/// Reorders the rows of `x`: row i of the result is row `order[i]` of `x`.
/// \param x `[T, d]`
/// \param order a permutation of 0, ..., T-1
/// \return `[T, d]`
/// Throws std::invalid_argument when `order` is not a permutation of the rows.
Matrix permute_rows(const Matrix& x, const std::vector<std::size_t>& order);

/// The entropy of each row of attention weights, in nats:
/// \f$H_i = -\sum_j w_{ij} \ln w_{ij}\f$ (with \f$0 \ln 0 = 0\f$). It is 0 when a query
/// looks at one key only and \f$\ln T\f$ when it spreads evenly over all T keys.
/// \param weights `[T_q, T_k]`
/// \return `[T_q]`
Vector attention_entropy(const Matrix& weights);

}  // namespace attn
