/// \file
/// \brief Chapter 07: attention without the `[T, T]` matrix. The online softmax keeps a
/// running maximum and sum, two partial results merge exactly, and tiled attention
/// (FlashAttention's idea, on a CPU) walks blocks of queries against blocks of keys with
/// matrix products, skipping the blocks above the diagonal when causal.
#pragma once

#include "chapters/07_fast_attention/softmax_kernels.hpp"  // fast_exp() and the softmax's loops
#include "common/tensor.hpp"

#include <cstddef>
#include <limits>

namespace attn {

/// What a softmax needs to know of a stream of logits: their maximum m and
/// \f$\sum_j e^{x_j - m}\f$. An empty stream has m = -inf and sum 0; a NaN or +inf logit
/// makes the sum NaN (\f$e^{\infty - \infty}\f$ is NaN), and it stays NaN through a merge.
struct SoftmaxState {
    float max = -std::numeric_limits<float>::infinity();  ///< the largest logit so far
    float sum = 0.0f;                                     ///< \f$\sum_j e^{x_j - \mathrm{max}}\f$
};

/// The state of a stream in one pass: when a new maximum arrives, the running sum is
/// rescaled by \f$e^{m_{old} - m_{new}}\f$ (Milakov and Gimelshein 2018).
/// \param logits `[n]`, possibly empty
SoftmaxState softmax_state(const Vector& logits);

/// The state of two streams together, exactly: the larger maximum, and each sum rescaled to it.
SoftmaxState merge_states(const SoftmaxState& a, const SoftmaxState& b);

/// softmax(logits) from its state: \f$e^{x_i - m} / \mathrm{sum}\f$. Like chapter 01's
/// softmax(): all NaN when a logit is NaN or +inf, zeros when every logit is -inf.
/// \param logits `[n]`, n >= 1
Vector online_softmax(const Vector& logits);

/// Block sizes of tiled_attention().
struct Tiles {
    std::size_t queries = 256;  ///< queries per block (chapter 07 measures the choice)
    std::size_t keys = 256;     ///< keys per block
};

/// Attention \f$\mathrm{softmax}(Q K^\top / \sqrt{d})\, V\f$ computed block by block, never
/// holding more than one `[queries, keys]` tile of scores. Each tile's \f$Q K^\top\f$ and
/// \f$P V\f$ are matrix products (OpenBLAS); an online softmax per query row rescales the
/// running output when its maximum grows. With `causal`, the blocks above the diagonal
/// are skipped; `allowed`, when given, masks any other keys. A query that may see no key
/// gets zeros; one whose visible scores hold a NaN gets NaN. Equals chapter 03's
/// masked_attention() output.
/// \param q `[T_q, d]`
/// \param k `[T_k, d]`
/// \param v `[T_k, d_v]`
/// \param causal query i sees keys 0..i
/// \param allowed `[T_q, T_k]` or null
/// \param tiles the block sizes
/// \return `[T_q, d_v]`
Matrix tiled_attention(const Matrix& q, const Matrix& k, const Matrix& v, bool causal,
                       const Mask* allowed = nullptr, Tiles tiles = {});

/// The extra memory tiled_attention() uses besides its output: one tile of scores, one
/// block of running outputs and two numbers per query of the block, in bytes.
std::size_t tiled_attention_workspace_bytes(std::size_t d_v, Tiles tiles = {});

}  // namespace attn
