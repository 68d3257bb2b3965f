#include "chapters/10_serving/scheduler.hpp"

#include "common/shape.hpp"

#include <algorithm>
#include <string>

namespace attn {

std::size_t admissions(const std::vector<std::size_t>& needs, std::size_t free_blocks,
                       std::size_t growth, std::size_t running) {
    constexpr const char* fn = "attn::admissions";
    if (growth > free_blocks) {
        invalid_argument(fn, "growth = " + std::to_string(growth) + " is more than free_blocks = " +
                                 std::to_string(free_blocks) + ": make room first");
    }
    for (std::size_t i = 0; i < needs.size(); ++i)
        check_positive(fn, "needs[" + std::to_string(i) + "]", needs[i]);
    std::size_t taken = growth, admitted = 0;
    for (std::size_t need : needs) {
        // Its blocks, those of everyone before it, and a spare block per running sequence.
        if (taken + need + running + admitted > free_blocks) break;  // it waits, and all behind
        taken += need;
        ++admitted;
    }
    return admitted;
}

Scheduler::~Scheduler() {
    for (RequestId id : running_) tables_.remove(requests_.at(id).sequence);
}

void Scheduler::arrive(RequestId request, std::size_t prompt) {
    constexpr const char* fn = "attn::Scheduler::arrive";
    if (prompt == 0) invalid_argument(fn, "request " + std::to_string(request) + ": prompt = 0");
    if (requests_.count(request) != 0)
        invalid_argument(fn, "request " + std::to_string(request) + " has already arrived");
    const std::size_t need = blocks_for(prompt, tables_.block_size());
    if (need > tables_.allocator().n_blocks()) {
        invalid_argument(fn, "request " + std::to_string(request) + ": a prompt of " +
                                 std::to_string(prompt) + " tokens needs " + std::to_string(need) +
                                 " blocks, the pool has " +
                                 std::to_string(tables_.allocator().n_blocks()));
    }
    requests_[request] = ScheduledRequest{prompt, 0, 0, false, false};
    queue_.push_back(request);
}

void Scheduler::evict_last() {
    const RequestId victim = running_.back();
    ScheduledRequest& r = requests_.at(victim);
    tables_.remove(r.sequence);  // its blocks are free again; its tokens are kept
    r.running = false;
    running_.pop_back();
    queue_.push_front(victim);  // first in line: it came before everyone who waits
    ++evictions_;
}

std::vector<Work> Scheduler::plan() {
    // 1. Growth: each running sequence stores the token it generated last step.
    const auto growth = [&] {
        std::size_t blocks = 0;
        for (RequestId id : running_) blocks += tables_.blocks_needed(requests_[id].sequence, 1);
        return blocks;
    };
    bool evicted = false;
    while (growth() > tables_.allocator().free_blocks()) {
        evict_last();
        evicted = true;
    }
    // 2. Admission, first come first served, keeping a block per running sequence free; not
    // in a step that evicted, unless nothing is left running (the queue's head then fits,
    // or nothing ever will: out_of_blocks below).
    if (!evicted || running_.empty()) {
        const auto need = [&](RequestId id) {
            const ScheduledRequest& r = requests_.at(id);
            return blocks_for(r.prompt + r.generated, tables_.block_size());
        };
        // The queue's needs, as far down as the free blocks could reach (each needs one).
        const std::size_t free = tables_.allocator().free_blocks();
        std::vector<std::size_t> needs;
        for (std::size_t i = 0; i < queue_.size() && i < free; ++i)
            needs.push_back(need(queue_[i]));
        const std::size_t admitted = admissions(needs, free, growth(), running_.size());
        if (admitted == 0 && running_.empty() && !queue_.empty()) {
            throw out_of_blocks("attn::Scheduler::plan: request " + std::to_string(queue_.front()) +
                                " needs " + std::to_string(need(queue_.front())) + " blocks, " +
                                std::to_string(free) +
                                " are free, and no sequence of the scheduler's runs to free more");
        }
        for (std::size_t i = 0; i < admitted; ++i) {
            ScheduledRequest& r = requests_.at(queue_.front());
            r.sequence = tables_.add_sequence();
            r.running = r.admitted_now = true;
            running_.push_back(queue_.front());
            queue_.pop_front();
        }
    }
    std::vector<Work> work;
    for (RequestId id : running_) {
        ScheduledRequest& r = requests_.at(id);
        work.push_back({id, r.sequence, r.generated, r.admitted_now ? r.prompt + r.generated : 1,
                        r.admitted_now});
        r.admitted_now = false;
    }
    return work;
}

void Scheduler::generated(RequestId request, bool done) {
    const auto it = requests_.find(request);
    if (it == requests_.end() || !it->second.running) {
        invalid_argument("attn::Scheduler::generated",
                         "request " + std::to_string(request) + " is not running");
    }
    ++it->second.generated;
    if (!done) return;
    tables_.remove(it->second.sequence);
    running_.erase(std::find(running_.begin(), running_.end(), request));
    requests_.erase(it);
}

}  // namespace attn
