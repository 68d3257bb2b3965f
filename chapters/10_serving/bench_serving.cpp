// `make bench`: batched decoding at stories15M's shape (seeded random weights), one thread,
// B = 1, 4, 16 and 32 sequences per step; and attention through a block table against
// chapter 08's attention over contiguous rows, at the same length.
//
// Each decode benchmark prefills B prompts of 64 tokens once, then forks them: every 32
// steps the forks are removed and made again (outside the timing), so the context stays
// between 64 and 96 positions, and each fork copies only its partly filled last block.
#include "chapters/08_real_model/decode_kernels.hpp"
#include "chapters/09_learning/training.hpp"
#include "chapters/10_serving/batched_llama.hpp"
#include "chapters/10_serving/paged_kernels.hpp"

#include <benchmark/benchmark.h>

#include <algorithm>
#include <numeric>
#include <vector>

namespace {

const attn::Llama& model() {
    static const attn::Llama m = [] {
        attn::keep_freed_memory();  // chapter 09: no fresh pages for each step's matrices
        const attn::LlamaConfig c = attn::stories15m_config();
        attn::Rng rng(15);
        return attn::Llama(c, attn::llama_random(c, rng));
    }();
    return m;
}

void decode(benchmark::State& state) {
    const std::size_t B = static_cast<std::size_t>(state.range(0));
    const attn::Llama& m = model();
    const attn::LlamaConfig& c = m.config();
    attn::PagedKVCache cache({c.n_layers, c.n_kv_heads, c.dim / c.n_heads, 16, B * 16});
    attn::BatchedLlama runner(m, cache);
    std::vector<attn::PagedKVCache::SequenceId> roots, ids;
    std::vector<std::vector<std::size_t>> prompts, next(B, std::vector<std::size_t>{1});
    for (std::size_t b = 0; b < B; ++b) {
        roots.push_back(cache.add_sequence());
        std::vector<std::size_t> p(64);
        std::iota(p.begin(), p.end(), 100 * b + 1);
        prompts.push_back(p);
    }
    runner.step(roots, prompts);
    std::size_t steps = 0;
    for (auto _ : state) {
        if (steps % 32 == 0) {
            state.PauseTiming();
            for (auto id : ids) cache.remove(id);
            ids.clear();
            for (auto root : roots) ids.push_back(cache.fork(root));
            state.ResumeTiming();
        }
        benchmark::DoNotOptimize(runner.step(ids, next));
        ++steps;
    }
    state.counters["tokens_per_second"] =
        benchmark::Counter(static_cast<double>(B) * static_cast<double>(state.iterations()),
                           benchmark::Counter::kIsRate);
}
BENCHMARK(decode)->Arg(1)->Arg(4)->Arg(16)->Arg(32)->Unit(benchmark::kMillisecond)->UseRealTime();

// One head's keys and values at stories15M's head size: n rows, in blocks of 16 in a shuffled
// pool (paged), or one after the other (contiguous).
struct Head {
    static constexpr std::size_t d = 48, block = 16;
    std::size_t n;
    std::vector<float> keys, values, q, out, scores;
    std::vector<std::size_t> table;
    explicit Head(std::size_t rows)
        : n(rows), keys(rows * d), values(rows * d), q(d, 0.1f), out(d), scores(rows) {
        attn::Rng rng(4);
        for (float& x : keys) x = rng.normal();
        for (float& x : values) x = rng.normal();
        table.resize((rows + block - 1) / block);
        std::iota(table.begin(), table.end(), 0);
        std::reverse(table.begin(), table.end());  // the blocks out of order
    }
};

void paged_attention(benchmark::State& state) {
    Head h(static_cast<std::size_t>(state.range(0)));
    const attn::Float32Head p{
        h.keys.data(), h.values.data(), {Head::block, Head::block, Head::d, h.table.size()}};
    for (auto _ : state) {
        attn::attend_paged(h.q.data(), p, h.table.data(), h.n, h.out.data(), h.scores.data());
        benchmark::DoNotOptimize(h.out.data());
    }
}
BENCHMARK(paged_attention)->Arg(256)->Arg(2048)->Unit(benchmark::kMicrosecond);

void contiguous_attention(benchmark::State& state) {
    Head h(static_cast<std::size_t>(state.range(0)));
    for (auto _ : state) {
        attn::attend_one(h.q.data(), h.keys.data(), h.values.data(), h.n, Head::d, h.out.data(),
                         h.scores.data());
        benchmark::DoNotOptimize(h.out.data());
    }
}
BENCHMARK(contiguous_attention)->Arg(256)->Arg(2048)->Unit(benchmark::kMicrosecond);

}  // namespace

BENCHMARK_MAIN();
