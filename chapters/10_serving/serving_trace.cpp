#include "chapters/10_serving/serving_trace.hpp"

#include "chapters/10_serving/paged_cache.hpp"
#include "chapters/10_serving/scheduler.hpp"
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
    for (std::size_t i = 0; i < spec.max_tokens.size(); ++i)
        check_positive(fn, "max_tokens[" + std::to_string(i) + "]", spec.max_tokens[i]);
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

// The per-step sums of a simulation, turned into a TraceResult at the end.
class Tally {
public:
    explicit Tally(std::size_t budget) : budget_(static_cast<double>(budget)) {}

    // One step's memory, after its tokens are stored: `m` with everything but free and
    // external filled in, `held` the positions taken from the budget, `waiting_need` the
    // positions the queue's head waits for (0: nobody waits for memory).
    void step(MemoryShares m, double held, std::size_t running, bool contiguous,
              std::size_t waiting_need, bool queue_empty, bool all_arrived) {
        const double free = budget_ - held;
        // Free memory that a waiting request could have used, were it in one piece.
        if (contiguous && waiting_need > 0 && free >= static_cast<double>(waiting_need))
            m.external = free;
        else
            m.free = free;
        sum_.tokens += m.tokens;
        sum_.reserved += m.reserved;
        sum_.internal += m.internal;
        sum_.external += m.external;
        sum_.free += m.free;
        if (!queue_empty)
            free_while_waiting_ += m.free;
        else if (all_arrived)
            free_at_end_ += m.free;
        result.running.push_back(static_cast<double>(running));
        result.waste.push_back(m.wasted() / budget_);
        result.mean_running += static_cast<double>(running);
        result.most_running = std::max(result.most_running, running);
        ++result.steps;
    }

    TraceResult finish(const std::vector<Request>& trace) {
        const double scale = 1.0 / (static_cast<double>(result.steps) * budget_);
        result.shares = {sum_.tokens * scale, sum_.reserved * scale, sum_.internal * scale,
                         sum_.external * scale, sum_.free * scale};
        result.free_while_waiting = free_while_waiting_ * scale;
        result.free_at_end = free_at_end_ * scale;
        result.last_arrival = trace.empty() ? 0 : trace.back().arrival;
        result.mean_running /= static_cast<double>(result.steps);
        return result;
    }

    TraceResult result;

private:
    double budget_;
    MemoryShares sum_;
    double free_while_waiting_ = 0, free_at_end_ = 0;
};

// Paged: the Scheduler over block tables of budget / block_size blocks; running a step is
// appending its positions to the tables.
TraceResult simulate_paged(const std::vector<Request>& trace, std::size_t budget,
                           std::size_t block_size) {
    BlockTables tables(budget / block_size, block_size);
    Scheduler scheduler(tables);
    Tally tally(budget);
    std::size_t next = 0, done = 0;
    while (done < trace.size()) {
        const std::size_t step = tally.result.steps;
        for (; next < trace.size() && trace[next].arrival <= step; ++next)
            scheduler.arrive(next, trace[next].prompt);
        const std::vector<Work> work = scheduler.plan();
        MemoryShares m;
        for (const Work& w : work) {
            for (std::size_t t = 0; t < w.new_tokens; ++t) tables.append_position(w.sequence);
            const PagedSequence& s = tables.sequence(w.sequence);
            m.tokens += static_cast<double>(s.length);
            m.internal += static_cast<double>(s.blocks.size() * block_size - s.length);
            if (w.admitted) tally.result.last_admission = step;
        }
        const std::size_t held = tables.allocator().n_blocks() - tables.allocator().free_blocks();
        tally.step(m, static_cast<double>(held * block_size), work.size(), false, 0,
                   scheduler.waiting() == 0, next == trace.size());
        for (const Work& w : work) {
            const bool finished = w.generated + 1 == trace[w.request].output;
            scheduler.generated(w.request, finished);
            if (finished) {
                tally.result.generated += trace[w.request].output;
                ++done;
            }
        }
    }
    tally.result.preemptions = scheduler.evictions();
    return tally.finish(trace);
}

struct Reservation {
    std::size_t request = 0;
    std::size_t stored = 0;     // positions in the cache
    std::size_t generated = 0;  // tokens generated so far
    std::size_t start = 0;      // where its reservation begins
    std::size_t reserved = 0;   // positions reserved
};

// First fit in [0, budget) around the reservations of the running sequences.
std::optional<std::size_t> first_fit(const std::list<Reservation>& running, std::size_t size,
                                     std::size_t budget) {
    std::vector<std::pair<std::size_t, std::size_t>> taken;
    for (const Reservation& r : running) taken.emplace_back(r.start, r.start + r.reserved);
    std::sort(taken.begin(), taken.end());
    taken.emplace_back(budget, budget);
    std::size_t at = 0;
    for (const auto& [begin, end] : taken) {
        if (begin - at >= size) return at;
        at = std::max(at, end);
    }
    return std::nullopt;
}

// Contiguous: the servers before paging. Each request reserves `reservation` positions in
// one piece when admitted (first fit) and keeps them to the end; nobody is ever evicted.
template <typename Size>
TraceResult simulate_reserved(const std::vector<Request>& trace, std::size_t budget,
                              Size reservation) {
    Tally tally(budget);
    std::deque<std::size_t> queue;
    std::list<Reservation> running;  // in order of admission
    std::size_t next = 0, done = 0;
    while (done < trace.size()) {
        const std::size_t step = tally.result.steps;
        for (; next < trace.size() && trace[next].arrival <= step; ++next) queue.push_back(next);
        std::size_t waiting_need = 0;
        while (!queue.empty()) {
            const Request& r = trace[queue.front()];
            const std::optional<std::size_t> at = first_fit(running, reservation(r), budget);
            if (!at) {
                waiting_need = reservation(r);
                break;
            }
            running.push_back({queue.front(), r.prompt, 0, *at, reservation(r)});
            queue.pop_front();
            tally.result.last_admission = step;
        }
        // Every running sequence stores one more token (the first step: its prompt and its
        // first token at once; the paged simulation stores the first token a step later).
        MemoryShares m;
        for (Reservation& s : running) {
            ++s.stored;
            ++s.generated;
            const Request& r = trace[s.request];
            const std::size_t final_length = r.prompt + r.output;
            m.tokens += static_cast<double>(s.stored);
            m.reserved += static_cast<double>(final_length - s.stored);
            m.internal += static_cast<double>(s.reserved - final_length);
        }
        tally.step(m, m.tokens + m.reserved + m.internal, running.size(), true, waiting_need,
                   queue.empty(), next == trace.size());
        for (auto it = running.begin(); it != running.end();) {
            if (it->generated == trace[it->request].output) {
                tally.result.generated += trace[it->request].output;
                ++done;
                it = running.erase(it);
            } else {
                ++it;
            }
        }
    }
    return tally.finish(trace);
}

}  // namespace

TraceResult simulate_serving(const std::vector<Request>& trace, std::size_t budget,
                             Allocation allocation, std::size_t block_size, std::size_t context) {
    constexpr const char* fn = "attn::simulate_serving";
    const bool paged = allocation == Allocation::paged;
    check_positive(fn, "block_size", block_size);
    const auto reservation = [&](const Request& r) {
        return allocation == Allocation::max_length ? context : r.prompt + r.max_tokens;
    };
    for (std::size_t i = 0; i < trace.size(); ++i) {
        const Request& r = trace[i];
        // Paged, a sequence stores its prompt and all its tokens but the last it generates.
        const std::size_t need =
            paged
                ? blocks_for(r.prompt + r.output - std::min<std::size_t>(r.output, 1), block_size) *
                      block_size
                : reservation(r);
        if (r.prompt + r.max_tokens > context || r.output > r.max_tokens || r.prompt == 0 ||
            r.output == 0 || need > budget || (i > 0 && r.arrival < trace[i - 1].arrival)) {
            invalid_argument(
                fn, "request " + std::to_string(i) + " (arrival " + std::to_string(r.arrival) +
                        ", prompt " + std::to_string(r.prompt) + ", output " +
                        std::to_string(r.output) + ", max_tokens " + std::to_string(r.max_tokens) +
                        ") can never fit or is out of order: it needs " + std::to_string(need) +
                        " positions, the budget is " + std::to_string(budget) +
                        " and the context " + std::to_string(context));
        }
    }
    if (trace.empty()) return {};
    if (paged) return simulate_paged(trace, budget, block_size);
    return simulate_reserved(trace, budget, reservation);
}

}  // namespace attn
