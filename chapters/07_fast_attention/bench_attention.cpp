// Benchmark: attention at d = 64, one thread, for T = 256, 1024, 4096, causal and not: the
// book's naive attention (chapters 01 and 03) against tiled attention. `make bench` also
// runs bench_attention_torch.py (PyTorch, when installed) and prints the ratios.
#include "chapters/01_single_head_attention/single_head_attention.hpp"
#include "chapters/03_causal_masking/causal_masking.hpp"
#include "chapters/07_fast_attention/fast_attention.hpp"
#include "common/random.hpp"

#include <benchmark/benchmark.h>

#include <map>

namespace {

struct Inputs {
    attn::Matrix q, k, v;
};

const Inputs& inputs(std::size_t T) {
    static std::map<std::size_t, Inputs> cache;
    auto it = cache.find(T);
    if (it == cache.end()) {
        attn::Rng rng(T);
        it =
            cache
                .emplace(T, Inputs{attn::random_normal(T, 64, rng), attn::random_normal(T, 64, rng),
                                   attn::random_normal(T, 64, rng)})
                .first;
    }
    return it->second;
}

void naive_full(benchmark::State& state) {
    const Inputs& in = inputs(static_cast<std::size_t>(state.range(0)));
    for (auto _ : state)
        benchmark::DoNotOptimize(attn::scaled_dot_product_attention(in.q, in.k, in.v));
}

void naive_causal(benchmark::State& state) {
    const Inputs& in = inputs(static_cast<std::size_t>(state.range(0)));
    const attn::Mask causal = attn::causal_mask(in.q.shape(0));
    for (auto _ : state) benchmark::DoNotOptimize(attn::masked_attention(in.q, in.k, in.v, causal));
}

void tiled_full(benchmark::State& state) {
    const Inputs& in = inputs(static_cast<std::size_t>(state.range(0)));
    for (auto _ : state) benchmark::DoNotOptimize(attn::tiled_attention(in.q, in.k, in.v, false));
}

void tiled_causal(benchmark::State& state) {
    const Inputs& in = inputs(static_cast<std::size_t>(state.range(0)));
    for (auto _ : state) benchmark::DoNotOptimize(attn::tiled_attention(in.q, in.k, in.v, true));
}

}  // namespace

BENCHMARK(naive_full)->Arg(256)->Arg(1024)->Arg(4096)->Unit(benchmark::kMillisecond);
BENCHMARK(naive_causal)->Arg(256)->Arg(1024)->Arg(4096)->Unit(benchmark::kMillisecond);
BENCHMARK(tiled_full)->Arg(256)->Arg(1024)->Arg(4096)->Unit(benchmark::kMillisecond);
BENCHMARK(tiled_causal)->Arg(256)->Arg(1024)->Arg(4096)->Unit(benchmark::kMillisecond);

BENCHMARK_MAIN();
