#include "chapters/10_serving/scheduler.hpp"

#include "common/shape.hpp"

#include <algorithm>
#include <string>

namespace attn {

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
        std::size_t promised = growth();
        while (!queue_.empty()) {
            ScheduledRequest& r = requests_.at(queue_.front());
            const std::size_t need = blocks_for(r.prompt + r.generated, tables_.block_size());
            const std::size_t free = tables_.allocator().free_blocks();
            if (promised + need + running_.size() > free) {
                if (running_.empty()) {
                    throw out_of_blocks(
                        "attn::Scheduler::plan: request " + std::to_string(queue_.front()) +
                        " needs " + std::to_string(need) + " blocks, " + std::to_string(free) +
                        " are free, and no sequence of the scheduler's runs to free more");
                }
                break;  // it waits, and everyone behind it
            }
            r.sequence = tables_.add_sequence();
            r.running = r.admitted_now = true;
            running_.push_back(queue_.front());
            queue_.pop_front();
            promised += need;
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
