#include "chapters/10_serving/serving_trace.hpp"

#include "chapters/10_serving/paged_cache.hpp"
#include "common/shape.hpp"

#include <algorithm>
#include <cmath>
#include <deque>
#include <iterator>
#include <list>
#include <optional>
#include <string>

namespace attn {

double MemoryShares::wasted() const {
    return reserved + internal + external;
}

namespace {

std::size_t log_normal(Rng& rng, double median, double sigma, std::size_t lo, std::size_t hi) {
    const double x = median * std::exp(sigma * static_cast<double>(rng.normal()));
    return std::clamp(static_cast<std::size_t>(std::llround(x)), lo, hi);
}

}  // namespace

std::vector<Request> serving_trace(const TraceSpec& spec, Rng& rng) {
    constexpr const char* fn = "attn::serving_trace";
    if (!(spec.arrivals_per_step > 0)) invalid_argument(fn, "arrivals_per_step must be above 0");
    if (spec.max_tokens.empty()) invalid_argument(fn, "max_tokens lists no choice");
    // A request has a prompt of at least 1 and generates at least 1: the ranges the lengths
    // are clipped to must not be empty (std::clamp's bounds the wrong way round is undefined).
    if (spec.context < 2) {
        invalid_argument(fn, "context = " + std::to_string(spec.context) +
                                 ": a prompt and one token to generate need at least 2");
    }
    for (std::size_t i = 0; i < spec.max_tokens.size(); ++i) {
        if (spec.max_tokens[i] == 0)
            invalid_argument(fn, "max_tokens[" + std::to_string(i) + "] = 0 must be at least 1");
    }
    std::vector<Request> trace;
    double time = 0;
    for (std::size_t i = 0; i < spec.requests; ++i) {
        // Poisson arrivals: exponential gaps between requests.
        time += -std::log(1.0 - static_cast<double>(rng.uniform())) / spec.arrivals_per_step;
        Request r;
        r.arrival = static_cast<std::size_t>(time);
        r.prompt = log_normal(rng, spec.prompt_median, spec.prompt_sigma, 1, spec.context / 2);
        const std::size_t pick = std::min(
            spec.max_tokens.size() - 1,
            static_cast<std::size_t>(rng.uniform() * static_cast<float>(spec.max_tokens.size())));
        r.max_tokens = std::min(spec.max_tokens[pick], spec.context - r.prompt);
        r.output = log_normal(rng, spec.output_median, spec.output_sigma, 1, r.max_tokens);
        trace.push_back(r);
    }
    return trace;
}

namespace {

struct Running {
    std::size_t request = 0;
    std::size_t stored = 0;     // positions in the cache
    std::size_t generated = 0;  // tokens generated so far
    std::size_t start = 0;      // contiguous: where its reservation begins
    std::size_t reserved = 0;   // contiguous: positions reserved; paged: blocks held
};

// First fit in [0, budget) around the reservations of the running sequences.
std::optional<std::size_t> first_fit(const std::list<Running>& running, std::size_t size,
                                     std::size_t budget, std::size_t* largest_gap) {
    std::vector<std::pair<std::size_t, std::size_t>> taken;
    for (const Running& r : running) taken.emplace_back(r.start, r.start + r.reserved);
    std::sort(taken.begin(), taken.end());
    std::size_t at = 0, largest = 0;
    std::optional<std::size_t> found;
    taken.emplace_back(budget, budget);
    for (const auto& [begin, end] : taken) {
        largest = std::max(largest, begin - at);
        if (!found && begin - at >= size) found = at;
        at = std::max(at, end);
    }
    if (largest_gap) *largest_gap = largest;
    return found;
}

}  // namespace

TraceResult simulate_serving(const std::vector<Request>& trace, std::size_t budget,
                             Allocation allocation, std::size_t block_size, std::size_t context) {
    constexpr const char* fn = "attn::simulate_serving";
    const bool paged = allocation == Allocation::paged;
    if (block_size == 0) invalid_argument(fn, "block_size must be at least 1, got 0");
    const std::size_t n_blocks = budget / block_size;
    const auto reservation = [&](const Request& r) {
        return allocation == Allocation::max_length ? context : r.prompt + r.max_tokens;
    };
    for (std::size_t i = 0; i < trace.size(); ++i) {
        const Request& r = trace[i];
        const std::size_t need =
            paged ? blocks_for(r.prompt + r.output, block_size) * block_size : reservation(r);
        if (r.prompt + r.max_tokens > context || r.output > r.max_tokens || r.prompt == 0 ||
            need > budget) {
            invalid_argument(fn, "request " + std::to_string(i) + " (prompt " +
                                     std::to_string(r.prompt) + ", max_tokens " +
                                     std::to_string(r.max_tokens) + ") can never fit: it needs " +
                                     std::to_string(need) + " positions, the budget is " +
                                     std::to_string(budget) + " and the context " +
                                     std::to_string(context));
        }
    }

    TraceResult result;
    std::deque<std::pair<std::size_t, std::size_t>> queue;  // request, tokens generated before
    std::list<Running> running;                             // in order of admission
    std::size_t next = 0, done = 0, free_blocks = n_blocks, step = 0;
    MemoryShares sum;
    double free_while_waiting = 0, free_at_end = 0;
    const double to_share = 1.0 / static_cast<double>(budget);
    while (done < trace.size()) {
        while (next < trace.size() && trace[next].arrival <= step) queue.emplace_back(next++, 0);
        // Admission, first come first served: the queue's head waits until it fits.
        std::size_t waiting_need = 0, largest_gap = 0;
        while (!queue.empty()) {
            const auto [index, generated] = queue.front();
            const Request& r = trace[index];
            Running s{index, r.prompt + generated, generated, 0, 0};
            if (paged) {
                const std::size_t need = blocks_for(s.stored + 1, block_size);
                // Admitted only with a block to spare for each running sequence, so that the
                // next steps' growth rarely has to evict anyone (vLLM keeps such a watermark).
                if (need + running.size() > free_blocks) {
                    waiting_need = need * block_size;
                    break;
                }
                free_blocks -= need;
                s.reserved = need;
            } else {
                const std::optional<std::size_t> at =
                    first_fit(running, reservation(r), budget, &largest_gap);
                if (!at) {
                    waiting_need = reservation(r);
                    break;
                }
                s.start = *at;
                s.reserved = reservation(r);
            }
            running.push_back(s);
            queue.pop_front();
            result.last_admission = step;
        }
        // Decode: every running sequence stores its next token.
        for (auto it = running.begin(); it != running.end();) {
            if (paged && it->stored % block_size == 0 && it->stored / block_size == it->reserved) {
                // A new block; when none is free, evict the sequence admitted last.
                bool evicted_self = false;
                while (free_blocks == 0) {
                    Running& victim = running.back();
                    free_blocks += victim.reserved;
                    queue.emplace_front(victim.request, victim.generated);
                    ++result.preemptions;
                    evicted_self = &victim == &*it;
                    running.pop_back();
                    if (evicted_self) break;
                }
                if (evicted_self) break;  // it was the last in the list
                --free_blocks;
                ++it->reserved;
            }
            ++it->stored;
            ++it->generated;
            ++it;
        }
        // Where the memory is, after this step's tokens are stored.
        MemoryShares m;
        for (const Running& s : running) {
            const Request& r = trace[s.request];
            const std::size_t final_length = r.prompt + r.output;
            m.tokens += static_cast<double>(s.stored);
            if (paged) {
                m.internal += static_cast<double>(s.reserved * block_size - s.stored);
            } else {
                m.reserved += static_cast<double>(final_length - s.stored);
                m.internal += static_cast<double>(s.reserved - final_length);
            }
        }
        const double held = paged ? static_cast<double>((n_blocks - free_blocks) * block_size)
                                  : m.tokens + m.reserved + m.internal;
        const double free = static_cast<double>(budget) - held;
        // Free memory that a waiting request could have used, were it in one piece.
        if (!paged && waiting_need > 0 && free >= static_cast<double>(waiting_need))
            m.external = free;
        else
            m.free = free;
        sum.tokens += m.tokens;
        sum.reserved += m.reserved;
        sum.internal += m.internal;
        sum.external += m.external;
        sum.free += m.free;
        if (!queue.empty())
            free_while_waiting += m.free;
        else if (next == trace.size())
            free_at_end += m.free;
        result.running.push_back(static_cast<double>(running.size()));
        result.waste.push_back(m.wasted() * to_share);
        result.mean_running += static_cast<double>(running.size());
        result.most_running = std::max(result.most_running, running.size());
        // Finished sequences leave.
        for (auto it = running.begin(); it != running.end();) {
            if (it->generated == trace[it->request].output) {
                if (paged) free_blocks += it->reserved;
                result.generated += trace[it->request].output;
                ++done;
                it = running.erase(it);
            } else {
                ++it;
            }
        }
        ++step;
    }
    result.steps = step;
    const double scale = 1.0 / (static_cast<double>(step) * static_cast<double>(budget));
    result.shares = {sum.tokens * scale, sum.reserved * scale, sum.internal * scale,
                     sum.external * scale, sum.free * scale};
    result.free_while_waiting = free_while_waiting * scale;
    result.free_at_end = free_at_end * scale;
    result.last_arrival = trace.empty() ? 0 : trace.back().arrival;
    result.mean_running /= static_cast<double>(step);
    return result;
}

}  // namespace attn
