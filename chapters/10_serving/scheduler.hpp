/// \file
/// \brief Chapter 10: the scheduler of a server. Requests wait in a queue; each step it
/// decides which sequences run and with which tokens, from nothing but the block tables: it
/// makes room for the running sequences' growth (evicting the one admitted last when the pool
/// is short), then admits waiting requests first come, first served, while their blocks fit
/// (continuous batching). The same scheduler drives the simulated trace (simulate_serving())
/// and the real model (serve()).
#pragma once

#include "chapters/10_serving/paged_cache.hpp"

#include <cstddef>
#include <deque>
#include <map>
#include <vector>

namespace attn {

/// A request's number, given by the caller of Scheduler::arrive().
using RequestId = std::size_t;

/// One sequence's work in a step (Scheduler::plan()).
struct Work {
    RequestId request = 0;      ///< whose sequence
    SequenceId sequence = 0;    ///< its sequence in the block tables
    std::size_t generated = 0;  ///< tokens it generated before this step
    /// Tokens to feed this step, not yet in the cache: prompt + generated for a sequence
    /// admitted this step (its prompt, and on readmission after an eviction the tokens it had
    /// generated, computed again), 1 for a running one (the token it generated last step).
    std::size_t new_tokens = 0;
    bool admitted = false;  ///< admitted this step
};

/// What the scheduler keeps of a request while it waits or runs.
struct ScheduledRequest {
    std::size_t prompt = 0;     ///< its prompt's length
    std::size_t generated = 0;  ///< tokens it has generated (kept through an eviction)
    SequenceId sequence = 0;    ///< its sequence in the tables, while it runs
    bool running = false;       ///< admitted and not evicted since
    bool admitted_now = false;  ///< admitted by the plan() being made
};

/// \brief How many waiting requests a step admits: the admission rule of Scheduler::plan(),
/// first come first served with a watermark.
///
/// The i-th request of the queue (from 0, the queue's head) is admitted when
/// growth + needs[0] + ... + needs[i] + (running + i) <= free_blocks: the blocks the running
/// sequences' growth takes, those of every request admitted before it in this step and its
/// own, and one spare block for each sequence running before it (those admitted before it in
/// this step included, not itself). The first request that does not fit waits,
/// and so does every request behind it, even one that would fit.
/// \param needs blocks each waiting request needs, the queue's head first; each at least 1
/// \param free_blocks the pool's free blocks
/// \param growth blocks the running sequences' next positions take this step, at most
///        free_blocks
/// \param running sequences running before the step admits any
/// \return how many requests are admitted, from the queue's head
///
/// Throws std::invalid_argument naming attn::admissions when a need is 0 or growth is more
/// than free_blocks (make room first).
std::size_t admissions(const std::vector<std::size_t>& needs, std::size_t free_blocks,
                       std::size_t growth, std::size_t running);

/// \brief Admission, eviction and continuous batching over a pool's block tables.
///
/// Each step (plan()):
/// 1. Growth. Every running sequence will store the tokens of its step; when the pool has
///    fewer free blocks than they need, the sequence admitted last is evicted (its blocks
///    freed, its request back at the head of the queue, its generated tokens kept), until they
///    fit. This is what vLLM does: recomputing a short sequence later is cheaper than keeping
///    memory for every sequence's worst case.
/// 2. Admission, in a step that evicted nobody (or evicted every sequence): admissions().
///    The queue's head is admitted when its blocks fit with one block to spare per running
///    sequence (a watermark: the next steps' growth then rarely has to evict), and so on down
///    the queue; the first that does not fit waits, and so does everyone behind it (first
///    come, first served).
///
/// The caller then runs the step: for each Work, appends its new_tokens positions to the
/// sequence (through a model, BatchedLlama::step(), or by counting them, as the simulation
/// does) and reports the token generated with generated().
class Scheduler {
public:
    /// Schedules sequences in `tables`, which must outlive it. The scheduler adds and
    /// removes its sequences there; other sequences in the tables hold blocks it cannot use.
    explicit Scheduler(BlockTables& tables) : tables_(tables) {}
    /// Removes the sequences still running from the tables: a server that stops, or a run
    /// that threw, leaves the pool as it found it.
    ~Scheduler();
    Scheduler(const Scheduler&) = delete;             ///< one owner of its sequences
    Scheduler& operator=(const Scheduler&) = delete;  ///< one owner of its sequences

    /// A request joins the back of the queue with a prompt of `prompt` tokens. Throws
    /// std::invalid_argument naming attn::Scheduler::arrive for a prompt of 0, a request
    /// already known, or a prompt that needs more blocks than the whole pool.
    /// \param request its number \param prompt its prompt's length
    void arrive(RequestId request, std::size_t prompt);

    /// The next step's work: every running sequence, those admitted now last. Empty when
    /// nothing runs and nobody waits. Throws out_of_blocks when nothing could ever run: a
    /// lone sequence that needs a block of a pool held by sequences the scheduler does not
    /// own, or a queue head that does not fit in an otherwise empty schedule.
    std::vector<Work> plan();

    /// After a step: `request` generated one more token; `done` ends it and frees its blocks.
    /// Throws std::invalid_argument naming attn::Scheduler::generated for a request that is
    /// not running.
    /// \param request a request of the step \param done whether it is finished
    void generated(RequestId request, bool done);

    /// Requests waiting for memory.
    std::size_t waiting() const { return queue_.size(); }
    /// Requests running.
    std::size_t running() const { return running_.size(); }
    /// Evictions so far.
    std::size_t evictions() const { return evictions_; }

private:
    void evict_last();

    BlockTables& tables_;
    std::map<RequestId, ScheduledRequest> requests_;  // waiting or running
    std::deque<RequestId> queue_;                     // waiting, first come first
    std::vector<RequestId> running_;                  // in order of admission
    std::size_t evictions_ = 0;
};

}  // namespace attn
