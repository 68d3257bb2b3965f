// Benchmark: generating N tokens with and without the KV cache (Google Benchmark), run by
// `make bench` with one OpenBLAS thread.
//
// The model: d_model 256, 4 layers, 4 heads, d_ff 1024, a vocabulary of 64, GPT-2
// initialisation (seed 1); the prompt is 4 tokens, greedy decoding. Both variants produce
// the same tokens (tests/chapters/test_ch06.cpp checks it); only the time differs.
#include "chapters/06_kv_cache/kv_cache.hpp"

#include <benchmark/benchmark.h>

namespace {

const attn::Gpt& model() {
    static const attn::Gpt gpt = [] {
        const attn::GptConfig c{64, 1032, 256, 4, 4, 4, 1024, true};
        attn::Rng rng(1);
        return attn::Gpt(c, attn::gpt2_init(c, rng));
    }();
    return gpt;
}

const std::vector<std::size_t> prompt{1, 2, 3, 4};

void generate_without_cache(benchmark::State& state) {
    const auto count = static_cast<std::size_t>(state.range(0));
    for (auto _ : state) {
        attn::Rng rng(2);
        benchmark::DoNotOptimize(attn::generate(model(), prompt, count, 0.0f, rng));
    }
    state.counters["tokens_per_second"] = benchmark::Counter(
        static_cast<double>(count), benchmark::Counter::kIsIterationInvariantRate);
}

void generate_with_cache(benchmark::State& state) {
    const auto count = static_cast<std::size_t>(state.range(0));
    for (auto _ : state) {
        attn::Rng rng(2);
        benchmark::DoNotOptimize(attn::generate_cached(model(), prompt, count, 0.0f, rng));
    }
    state.counters["tokens_per_second"] = benchmark::Counter(
        static_cast<double>(count), benchmark::Counter::kIsIterationInvariantRate);
}

}  // namespace

// Recomputing is slow (about 3 minutes for 1024 tokens on this book's 2-core machine): one
// generation per measurement, and a single measurement at 1024.
BENCHMARK(generate_without_cache)
    ->RangeMultiplier(2)
    ->Range(64, 512)
    ->Unit(benchmark::kMillisecond)
    ->Iterations(1);
BENCHMARK(generate_without_cache)
    ->Arg(1024)
    ->Unit(benchmark::kMillisecond)
    ->Iterations(1)
    ->Repetitions(1);
BENCHMARK(generate_with_cache)->RangeMultiplier(2)->Range(64, 1024)->Unit(benchmark::kMillisecond);

BENCHMARK_MAIN();
