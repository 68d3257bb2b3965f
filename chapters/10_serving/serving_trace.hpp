/// \file
/// \brief Chapter 10: a serving trace, simulated. Requests arrive over time with prompt and
/// output lengths nobody knows in advance; a server with a fixed KV memory admits them first
/// come, first served and decodes every admitted sequence one token per step. Two ways to
/// give them memory are compared on the same trace: a contiguous reservation per request
/// and blocks taken as a sequence grows (the paged cache).
#pragma once

#include "common/random.hpp"

#include <cstddef>
#include <vector>

namespace attn {

/// One request of the trace.
struct Request {
    std::size_t arrival = 0;     ///< the step it arrives at
    std::size_t prompt = 0;      ///< tokens of its prompt
    std::size_t output = 0;      ///< tokens it will generate (unknown to the server)
    std::size_t max_tokens = 0;  ///< the most it may generate, as the client asked
};

/// How a trace is drawn. Lengths are log-normal: most requests are short and a few are very
/// long, as in logs of chat services; each is rounded and clipped to its range.
struct TraceSpec {
    std::size_t requests = 1000;     ///< how many
    double arrivals_per_step = 1.0;  ///< Poisson arrivals: the mean per decode step
    double prompt_median = 80;       ///< tokens
    double prompt_sigma = 1.0;       ///< of the length's logarithm
    double output_median = 120;      ///< tokens
    double output_sigma = 0.9;       ///< of the length's logarithm
    std::vector<std::size_t> max_tokens = {256, 512, 1024};  ///< drawn uniformly per request
    std::size_t context = 2048;                              ///< the model's longest sequence
};

/// A seeded trace: arrivals in order, prompt in [1, context / 2], output in [1, max_tokens]
/// and prompt + max_tokens within context. Throws std::invalid_argument for arrivals_per_step
/// not above 0, a context below 2, or max_tokens empty or holding a 0.
std::vector<Request> serving_trace(const TraceSpec& spec, Rng& rng);

/// How the server gives a request KV memory.
enum class Allocation {
    max_length,  ///< contiguous: the model's whole context, reserved at admission
    max_tokens,  ///< contiguous: prompt + max_tokens, reserved at admission, first fit
    paged,       ///< blocks of block_size positions, one more when the last is full
};

/// Where the KV memory goes, as shares of the budget averaged over the trace's steps.
struct MemoryShares {
    double tokens = 0;    ///< holding a key and value of a token
    double reserved = 0;  ///< reserved for tokens the sequence will generate later
    double internal = 0;  ///< held and not written: beyond the sequence's final length
                          ///< (never), or, paged, the still-empty end of its last block
    double external = 0;  ///< free, but in gaps too small for the request that waits
    double free = 0;      ///< free: nobody waits, or too little for who waits, or (paged)
                          ///< the margin kept for the running sequences' growth
    /// The share of the budget that holds no token and that no request can use: reserved,
    /// internal and external fragmentation. With `tokens` and `free`, the whole budget.
    double wasted() const;
};

/// What the simulation measured.
struct TraceResult {
    std::size_t steps = 0;         ///< decode steps until the last request finished
    std::size_t generated = 0;     ///< tokens generated (recomputed ones not counted twice)
    double mean_running = 0;       ///< sequences decoding at once, averaged over the steps
    std::size_t most_running = 0;  ///< the most at once
    std::size_t preemptions = 0;   ///< sequences evicted to make room (paged only)
    MemoryShares shares;           ///< where the memory went
    /// The part of `shares.free` from the steps when a request waited for memory: with
    /// paged allocation, the blocks the admission rule keeps free for the running sequences'
    /// growth. The rest of `shares.free` is from steps when nobody waited.
    double free_while_waiting = 0;
    /// The part of `shares.free` from the steps when every request had arrived and none
    /// waited: the end of the trace, when the memory empties.
    double free_at_end = 0;
    std::size_t last_arrival = 0;    ///< the step the last request arrived at
    std::size_t last_admission = 0;  ///< the last step a request was admitted at
    std::vector<double> running;     ///< sequences decoding, per step
    std::vector<double> waste;       ///< wasted() of that step alone, per step
};

/// Runs the trace through a server with `budget` positions of KV memory.
///
/// Paged: the Scheduler over block tables of budget / block_size blocks, exactly as serve()
/// runs it with a model; running a step appends the step's positions to the tables. A
/// sequence stores its prompt when admitted and one token a step after; the token generated
/// last is never stored. Contiguous (max_length, max_tokens): the servers before paging; the
/// queue's head is admitted when a free gap as large as its reservation exists (first fit),
/// stores its prompt and first token at once and one token a step after, and nobody is
/// evicted. Throws std::invalid_argument for block_size = 0 and for a request that can
/// never fit in the budget, has an empty prompt or output, an output above its max_tokens, a
/// prompt + max_tokens above the context, or arrives before the request listed before it.
TraceResult simulate_serving(const std::vector<Request>& trace, std::size_t budget,
                             Allocation allocation, std::size_t block_size = 16,
                             std::size_t context = 2048);

}  // namespace attn
