/// \file
/// \brief Chapter 11: three ways to spread attention over P processes, each on the book's
/// one Llama block. Tensor parallelism: each rank holds a share of every block's heads and
/// feed-forward features, and two all-reduces a block sum the shares. A KV cache sharded by
/// position: each rank keeps the keys and values of every P-th position, and the ranks'
/// partial softmax states merge. Ring attention: each rank holds a chunk of a long prompt,
/// and the keys and values travel round a ring.
#pragma once

#include "chapters/06_kv_cache/kv_cache.hpp"
#include "chapters/08_real_model/llama.hpp"
#include "chapters/11_beyond_one_machine/partition.hpp"
#include "chapters/11_beyond_one_machine/ranks.hpp"

#include <cstddef>
#include <vector>

namespace attn {

/// A Llama decoded by P ranks under tensor parallelism (Shoeybi et al. 2019). Rank r keeps
/// its shard of every block (shard_layer()), a KV cache of its key/value heads only, and the
/// embedding, norms and classifier whole. Each block is chapter 08's llama_block() on the
/// shard, its two sub-layers' outputs summed over the ranks by Ranks::sum().
class TensorParallelLlama {
public:
    /// This rank's shard of `model`, and a cache of seq_len positions. The model must
    /// outlive this object. Throws std::invalid_argument naming attn::TensorParallelLlama when
    /// P does not divide the heads, the key/value heads or the SwiGLU width.
    TensorParallelLlama(const Llama& model, Ranks& ranks);
    /// Runs tokens at the next positions on every rank (all ranks must call it with the same
    /// tokens) and returns the logits of the last: the same as CachedLlama's, to rounding.
    Vector forward(const std::vector<std::size_t>& tokens);
    /// Bytes of this rank's block weights (the shards).
    std::size_t shard_weight_bytes() const;
    /// Bytes this rank's KV cache holds when full.
    std::size_t cache_bytes() const;

private:
    const Llama& model_;
    Ranks& ranks_;
    LlamaConfig shard_;
    std::vector<LlamaLayer> layers_;
    KVCache cache_;
    RopeTables rope_;
};

/// A Llama decoded by P ranks that split its KV cache by position: rank r keeps the keys and
/// values of positions r, r + P, r + 2P, ... and the weights whole. Each query head's
/// attention is each rank's partial state over its positions, merged across the ranks
/// (Ranks::merge(), a user-defined MPI reduction on merge_partials()): split-KV decoding, as
/// flash-decoding splits one sequence's cache over thread blocks.
class ShardedKVLlama {
public:
    /// A cache of this rank's share of seq_len positions. The model must outlive this object.
    ShardedKVLlama(const Llama& model, Ranks& ranks);
    /// forward() as TensorParallelLlama's.
    Vector forward(const std::vector<std::size_t>& tokens);
    /// Bytes this rank's KV cache holds when full.
    std::size_t cache_bytes() const;

private:
    class Kv;
    const Llama& model_;
    Ranks& ranks_;
    KVCache cache_;
    RopeTables rope_;
    std::size_t length_ = 0;  // positions run so far
};

/// What ring_attention() computed on this rank.
struct RingResult {
    Matrix out;         ///< `[its positions, d_v]`, causal attention's rows of this rank
    double scores = 0;  ///< how many (query, key) scores this rank computed
};

/// Causal attention of one head over a long sequence held by P ranks: this rank holds the
/// queries, keys and values of `positions` (rank_positions()), every rank as many. Each of
/// P steps scores this rank's queries against the block of keys it holds (skipping keys after
/// a query), merges the result into each query's partial state, and passes the block on to
/// rank + 1 (ring_source() says whose it holds). `overlap`: the pass is begun before the
/// scoring and waited for after it (MPI_Isend and MPI_Irecv), so that the bytes travel while
/// the ranks compute; otherwise MPI_Sendrecv after the scoring.
/// \param q `[n, d]` \param k `[n, d]` \param v `[n, d_v]` this rank's rows
/// \param positions `[n]` their positions \param ranks the ring \param overlap see above
RingResult ring_attention(const Matrix& q, const Matrix& k, const Matrix& v,
                          const std::vector<std::size_t>& positions, Ranks& ranks,
                          bool overlap = false);

}  // namespace attn
