/// \file
/// \brief Chapter 11: how the work of attention is split across P processes, without any
/// communication: which heads and weight rows a rank owns (tensor parallelism), which chunk
/// of keys and values a rank holds at each step of a ring, the zigzag assignment that
/// balances causal attention, the partial softmax states that merge, and the bytes each
/// scheme sends. Everything here runs in one process; mpi_llama.hpp does the sending.
#pragma once

#include "chapters/07_fast_attention/fast_attention.hpp"
#include "chapters/08_real_model/llama.hpp"
#include "common/tensor.hpp"

#include <cstddef>
#include <vector>

namespace attn {

/// The model chapter 11 decodes across processes: random weights in a shape that splits over
/// 1, 2 and 4 ranks (dim 128, 4 blocks of 8 query heads sharing 4 key/value heads, SwiGLU
/// 384, vocabulary 512, 272 positions).
LlamaConfig split_model_config();

/// What rank r of P owns of one block under tensor parallelism (Megatron-LM's split).
struct HeadShare {
    std::size_t first_head = 0;     ///< its query heads are first_head .. first_head + heads - 1
    std::size_t heads = 0;          ///< n_heads / P
    std::size_t first_kv_head = 0;  ///< the key/value heads those query heads read
    std::size_t kv_heads = 0;       ///< n_kv_heads / P
    std::size_t first_hidden = 0;   ///< its SwiGLU features first_hidden .. + hidden - 1
    std::size_t hidden = 0;         ///< hidden_dim / P
};

/// The heads, key/value heads and SwiGLU features rank `rank` of `ranks` owns: contiguous
/// blocks, rank r the r-th of P equal ones. Grouped-query heads: query head h reads key/value
/// head h / (n_heads / n_kv_heads), so when P divides n_kv_heads a rank's query heads read
/// exactly its own key/value heads and nothing is replicated. Throws std::invalid_argument
/// naming attn::head_share when ranks is 0, rank is not below it, or P does not divide
/// n_heads, n_kv_heads or hidden_dim (naming the count).
HeadShare head_share(const LlamaConfig& c, std::size_t rank, std::size_t ranks);

/// Rank `s`'s share of one block's weights: W_q's rows of its query heads, W_k's and W_v's
/// of its key/value heads, W_o's columns of its query heads (W_o is stored `[out, in]`: the
/// rows of the book's `[in, out]` W_o), W_gate's and W_up's rows of its features, W_down's
/// columns of them; the norms whole. A copy.
LlamaLayer shard_layer(const LlamaLayer& w, const LlamaConfig& c, const HeadShare& s);

/// The configuration a rank's shard runs as: n_heads, n_kv_heads and hidden_dim divided by
/// P, every other number the model's. (llama_block() takes the head size from W_q's rows.)
/// Throws std::invalid_argument naming `caller` when ranks is 0 or does not divide them.
LlamaConfig shard_config(const LlamaConfig& c, std::size_t ranks,
                         const char* caller = "attn::shard_config");

/// One query's attention over part of its keys, before normalising: the largest score, the
/// sum of the exponentials measured against it, and the values weighted by the same
/// exponentials, \f$o = \sum_j e^{s_j - m} v_j\f$. Its attention over all keys is
/// \f$o / \ell\f$ once every part is merged in. An empty part: max -inf, sum 0, out 0.
struct PartialAttention {
    float max = -std::numeric_limits<float>::infinity();  ///< m, the largest score
    float sum = 0.0f;                                     ///< \f$\ell = \sum_j e^{s_j - m}\f$
    std::vector<float> out;                               ///< `[d_v]`, o
};

/// The partial attention of query q over keys k and values v (all their rows, possibly
/// none), scores scaled by 1/sqrt(d). Throws std::invalid_argument naming
/// attn::partial_attention for shapes that do not fit.
/// \param q `[d]` \param k `[n, d]` \param v `[n, d_v]`
PartialAttention partial_attention(const Vector& q, const Matrix& k, const Matrix& v);

/// Merges `other` into `into`: chapter 07's merge_states() with the outputs rescaled like the
/// sums, \f$m = \max(m_a, m_b)\f$, \f$\ell = \ell_a e^{m_a - m} + \ell_b e^{m_b - m}\f$,
/// \f$o = o_a e^{m_a - m} + o_b e^{m_b - m}\f$. Order does not matter (up to rounding).
/// Throws std::invalid_argument naming attn::merge_partials for outputs of two sizes.
void merge_partials(PartialAttention& into, const PartialAttention& other);

/// The attention output of a merged state, \f$o / \ell\f$ (zeros for an empty one).
Vector finish(const PartialAttention& p);

/// Ring attention: at step s = 0 .. P-1 rank r holds the keys and values that rank
/// (r - s) mod P started with (each step every rank passes what it holds to rank r + 1 and
/// receives from rank r - 1). Throws std::invalid_argument naming attn::ring_source for
/// ranks = 0 or rank or step not below it.
std::size_t ring_source(std::size_t rank, std::size_t step, std::size_t ranks);

/// How the T positions of a long sequence are dealt to the ranks.
enum class Assignment {
    contiguous,  ///< rank r holds chunk r of P equal chunks: causal work grows with r
    zigzag,      ///< 2P chunks; rank r holds chunks r and 2P - 1 - r: one early, one late
};

/// The chunks rank r holds under an assignment: {r} of P chunks (contiguous), or
/// {r, 2P - 1 - r} of 2P chunks (zigzag). Throws std::invalid_argument naming
/// attn::rank_chunks for ranks = 0 or rank not below it.
std::vector<std::size_t> rank_chunks(std::size_t rank, std::size_t ranks, Assignment a);

/// The positions rank r holds, in order: its chunks of T / chunks positions each. Throws
/// std::invalid_argument naming attn::rank_positions when the chunks do not divide T.
std::vector<std::size_t> rank_positions(std::size_t rank, std::size_t ranks, std::size_t T,
                                        Assignment a);

/// The causal work of each rank in ring attention over T positions: how many (query, key)
/// scores it computes, a query scoring each key at or before it, whichever rank's chunk the
/// key arrives in. Contiguous: rank r computes about (2r + 1) T^2 / 2P^2; zigzag: every
/// rank the same, to within a chunk. Throws std::invalid_argument naming attn::ring_work when
/// ranks is 0 or T does not cut into P (contiguous) or 2P (zigzag) equal chunks.
/// \return `[ranks]` counts
std::vector<double> ring_work(std::size_t T, std::size_t ranks, Assignment a);

/// The bytes each rank sends in a ring all-reduce of `bytes` (Patarasuk and Yuan 2009):
/// the data cut in P pieces, P - 1 steps of reduce-scatter and P - 1 of all-gather, one
/// piece each: \f$2 (P - 1) / P\f$ times the data. 0 for one rank.
double ring_allreduce_bytes(double bytes, std::size_t ranks);

/// The communication of one scheme, per generated token (all layers), as the α-β model
/// counts it: messages (each costs the latency α) and bytes each rank sends (each costs
/// 1/β). Counted from the formulas; the program counts what it sends and compares.
struct CommCost {
    double messages = 0;  ///< latency-bound steps per token
    double bytes = 0;     ///< bytes each rank sends per token
    /// Seconds per token for latency `alpha` (s) and bandwidth `beta` (bytes/s).
    double seconds(double alpha, double beta) const { return messages * alpha + bytes / beta; }
};

/// Tensor parallelism, one token: two ring all-reduces of `dim` floats per layer (after
/// attention, after the feed-forward network), each 2(P - 1) messages. Throws
/// std::invalid_argument naming attn::tensor_parallel_cost when ranks is 0 or c is not a
/// Llama's configuration (check_config()); so do the two models below, each by its name.
CommCost tensor_parallel_cost(const LlamaConfig& c, std::size_t ranks,
                              std::size_t bytes_per_float = 4);

/// A KV cache sharded by position, one token: for every query head of every layer, the
/// ranks' partial (max, sum, out), 2 + d_head floats, merged by one all-reduce. Modelled as
/// recursive doubling, the small-message all-reduce: \f$\lceil \log_2 P \rceil\f$ steps,
/// in each of which a rank sends its whole partial.
CommCost sharded_kv_cost(const LlamaConfig& c, std::size_t ranks, std::size_t bytes_per_float = 4);

/// Ring attention over a prompt of T positions (all layers): each rank passes its chunk of
/// keys and values on P - 1 times, \f$2 \cdot (T / P) \cdot n_{kv} d_{head}\f$ floats a time.
/// Per prompt, not per token.
CommCost ring_attention_cost(const LlamaConfig& c, std::size_t T, std::size_t ranks,
                             std::size_t bytes_per_float = 4);

}  // namespace attn
