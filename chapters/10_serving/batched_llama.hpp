/// \file
/// \brief Chapter 10: a Llama that runs many sequences in one step over a paged KV cache.
/// Each weight matrix is read once per step for all the sequences' new tokens; each token
/// attends over its own sequence's blocks.
#pragma once

#include "chapters/08_real_model/llama.hpp"
#include "chapters/10_serving/paged_cache.hpp"
#include "chapters/10_serving/paged_kernels.hpp"
#include "chapters/10_serving/scheduler.hpp"

#include <cstddef>
#include <unordered_map>
#include <vector>

namespace attn {

/// x W for a batch of rows, W as stored and packed once (pack_weight()): chapter 08's
/// project() for a decode step's thin batch. Up to 64 rows go through matmul_packed(), which
/// reads W from memory once for all of them; more rows (a prompt) through project(x, w),
/// whose BLAS blocking is made for large products. Throws std::invalid_argument naming
/// `caller` and `name` when x's width is not w.in().
/// \param x `[rows, w.in()]` \param w the weight \param packed pack_weight() of w
/// \param caller the function named in an error \param name the weight's name in an error
/// \return `[rows, w.out()]`
Matrix project_packed(const Matrix& x, const LinearWeight& w, const PackedWeight& packed,
                      const char* caller, const char* name);

/// The sequences of a step in chapter 10's paged cache, as chapter 08's block reads and
/// writes them (LlamaKV): row r is position `positions[r]` of sequence `owners[r]`, its keys
/// and values stored through the sequence's block table and read back through it.
class PagedKV final : public LlamaKV {
public:
    /// The cache and the two lists must outlive this object; the positions are already
    /// counted (PagedKVCache::append_position()).
    PagedKV(PagedKVCache& cache, const std::vector<PagedKVCache::SequenceId>& owners,
            const std::vector<std::size_t>& positions)
        : cache_(cache), owners_(owners), positions_(positions) {}
    /// PagedKVCache::store() for every row.
    void store(std::size_t layer, const Matrix& keys, const Matrix& values) override;
    /// PagedKVCache::attend() over the row's sequence, positions 0..positions[row].
    void attend(std::size_t layer, std::size_t row, std::size_t kv_head, const float* q, float* out,
                float* scores) const override;

private:
    PagedKVCache& cache_;
    const std::vector<PagedKVCache::SequenceId>& owners_;
    const std::vector<std::size_t>& positions_;
};

/// \brief Chapter 08's Llama, run as a server runs it: a step takes any number of sequences,
/// each with its new tokens (a whole prompt, or the one token it decodes), packed as the rows
/// of one matrix.
///
/// Every projection is one matrix product `[N, in] x [in, out]` for the N new tokens of the
/// step, so the weights are read from memory once however many sequences there are (for a
/// decode step's few rows, matmul_packed() on weights packed once at construction). Only
/// attention is per sequence: each row's query meets its own sequence's keys and values,
/// read through the block table, up to its own position.
class BatchedLlama {
public:
    /// The model and the cache must outlive this object. Packs a copy of every weight matrix
    /// for matmul_packed() (as much memory again as the weights). Throws std::invalid_argument when
    /// the cache's layers, key/value heads or head size are not the model's.
    BatchedLlama(const Llama& model, PagedKVCache& cache);

    /// Appends each sequence's new tokens to its cache and runs them through the model.
    /// \param ids distinct sequences of the cache
    /// \param tokens one list per sequence, at least one token each
    /// \return `[ids.size(), vocab_size]`: the next-token logits after each sequence's last
    ///         new token
    ///
    /// Everything is checked before any cache changes: an unknown or repeated id, an empty
    /// list, a token outside the vocabulary or a sequence that would pass seq_len throw
    /// std::invalid_argument; too few free blocks for the whole step throws out_of_blocks.
    Matrix step(const std::vector<PagedKVCache::SequenceId>& ids,
                const std::vector<std::vector<std::size_t>>& tokens);

    /// The model.
    const Llama& model() const { return model_; }
    /// The cache it runs over.
    PagedKVCache& cache() { return cache_; }

private:
    const Llama& model_;
    PagedKVCache& cache_;
    // Every weight matrix packed once, found by where its numbers are (a tied classifier is
    // the embedding: one packed copy).
    std::unordered_map<const float*, PackedWeight> packed_;
    RopeTables rope_;  // every position's angles, computed once
};

/// The next-token logits at every position of each sequence, the sequences decoded together
/// `batch` at a time through `model`'s step(), one position of each per step: teacher
/// forcing (position t gets the sequence's own token, not the model's choice), so a
/// batched decoder scores text, over the paged cache at whatever precision it stores. Each
/// sequence is added to the cache, run and removed; the cache must hold `batch` sequences of
/// the longest length. Throws std::invalid_argument naming attn::batched_logits for
/// `batch` = 0 or an empty sequence (and what step() refuses).
/// \return one `[T_i, vocab_size]` per sequence, in order
std::vector<Matrix> batched_logits(BatchedLlama& model, PagedKVCache& cache,
                                   const std::vector<std::vector<std::size_t>>& sequences,
                                   std::size_t batch = 64);

/// A request to a server: a prompt, and how many tokens to generate after it.
struct ServeRequest {
    std::size_t arrival = 0;          ///< the step it arrives at
    std::vector<std::size_t> prompt;  ///< its tokens, at least one
    std::size_t max_new = 0;          ///< tokens to generate, at least one
};

/// What serve() did.
struct ServeResult {
    std::vector<std::vector<std::size_t>> generated;  ///< per request, its new tokens
    std::size_t steps = 0;                            ///< model steps run
    std::size_t evictions = 0;                        ///< sequences evicted and recomputed
    std::size_t most_running = 0;                     ///< the most sequences in one step
    std::size_t rows = 0;  ///< tokens run through the model, recomputed ones included
};

/// Serves requests through the batched model, greedily, as a server does: the Scheduler
/// decides each step which sequences run (continuous batching; admission and eviction by the
/// cache's free blocks), and one BatchedLlama::step() runs them all. A sequence admitted
/// runs its prompt (after an eviction, its prompt and the tokens it had generated); a
/// running one its last token. Each request's tokens are those it would get decoded alone
/// (up to float rounding: a near tie between two tokens may fall the other way). Throws
/// std::invalid_argument naming attn::serve, before anything runs, for requests out of order
/// of arrival, an empty prompt, max_new = 0, a token outside the vocabulary, or a request
/// longer than seq_len or than the pool's free blocks (other sequences may hold some); the
/// cache is left as it was.
/// \param model the model, over the cache the requests will share
/// \param requests in order of arrival
ServeResult serve(BatchedLlama& model, const std::vector<ServeRequest>& requests);

/// What one decode step costs a Llama at batch size B, each sequence holding `context`
/// positions: the bytes it must read (every weight once, each sequence's cached keys and
/// values) and the floating-point operations it must do (2 per weight per token, and
/// attention's two products).
struct StepCost {
    double bytes = 0;  ///< weights + KV cache read
    double flops = 0;  ///< multiply-adds counted as 2
};

/// The step's cost for `batch` sequences of `context` cached positions, float32 weights and
/// `kv_bytes_per_position` bytes of cache per position (all layers, keys and values).
/// Throws std::invalid_argument for a configuration check_config() refuses.
StepCost decode_step_cost(const LlamaConfig& c, std::size_t batch, std::size_t context,
                          std::size_t kv_bytes_per_position);

/// The roofline (Williams, Waterman and Patterson 2009): a step takes at least
/// max(bytes / bandwidth, flops / peak) seconds, so at most `batch` over that many tokens
/// per second.
double roofline_tokens_per_second(const StepCost& cost, std::size_t batch, double bytes_per_second,
                                  double flops_per_second);

/// This machine's two limits, measured on one thread: bytes per second of reading `bytes`
/// bytes from first to last (the best of 5 passes; give it the weights' size, so that it
/// is read from wherever weights of that size live: memory, or a cache that holds them), and
/// floating-point operations per second of one large sgemm (1024 x 1024 x 1024, the best
/// of 3).
struct MachineLimits {
    double bytes_per_second = 0;  ///< reading bandwidth
    double flops_per_second = 0;  ///< compute
};

/// Measures MachineLimits (about a second).
MachineLimits measure_machine(std::size_t bytes);

}  // namespace attn
