// Benchmark: chapter 11's measures that need no second process. The work balance of ring
// attention (the busiest rank's scores over the mean, contiguous chunks against the zigzag,
// T = 4096 over 2, 4 and 8 ranks), the bytes each scheme sends per token for the chapter's
// model at P = 4 against the alpha-beta model's formulas, and one rank's ring attention
// (P = 1: the scoring and merging alone) against chapter 07's tiled attention of the same
// sequence. MPI is started for the program (a single process, P = 1).
#include "chapters/07_fast_attention/fast_attention.hpp"
#include "chapters/11_beyond_one_machine/distributed_llama.hpp"
#include "chapters/11_beyond_one_machine/partition.hpp"
#include "chapters/11_beyond_one_machine/ranks.hpp"
#include "common/random.hpp"

#include <benchmark/benchmark.h>

#include <algorithm>
#include <numeric>

namespace {

void ring_balance(benchmark::State& state) {
    const std::size_t P = static_cast<std::size_t>(state.range(0)), T = 4096;
    const auto a = state.range(1) == 0 ? attn::Assignment::contiguous : attn::Assignment::zigzag;
    std::vector<double> work;
    for (auto _ : state) {
        work = attn::ring_work(T, P, a);
        benchmark::DoNotOptimize(work.data());
    }
    const double mean = std::accumulate(work.begin(), work.end(), 0.0) / static_cast<double>(P);
    state.counters["busiest_over_mean"] = *std::max_element(work.begin(), work.end()) / mean;
    state.SetLabel(a == attn::Assignment::contiguous ? "contiguous" : "zigzag");
}

void bytes_per_token(benchmark::State& state) {
    const attn::LlamaConfig c = attn::split_model_config();
    attn::CommCost tp, kv;
    for (auto _ : state) {
        tp = attn::tensor_parallel_cost(c, 4);
        kv = attn::sharded_kv_cost(c, 4);
        benchmark::DoNotOptimize(tp.bytes + kv.bytes);
    }
    state.counters["tensor_parallel_bytes"] = tp.bytes;
    state.counters["tensor_parallel_messages"] = tp.messages;
    state.counters["sharded_kv_bytes"] = kv.bytes;
    state.counters["sharded_kv_messages"] = kv.messages;
}

// One rank's ring attention (P = 1) and chapter 07's tiled attention of the same sequence.
struct Sequence {
    attn::Matrix q, k, v;
    std::vector<std::size_t> positions;
    explicit Sequence(std::size_t T) {
        attn::Rng rng(5);
        q = attn::random_normal(T, 64, rng);
        k = attn::random_normal(T, 64, rng);
        v = attn::random_normal(T, 64, rng);
        positions.resize(T);
        std::iota(positions.begin(), positions.end(), 0);
    }
};

void ours_ring_one_rank(benchmark::State& state) {
    const Sequence s(static_cast<std::size_t>(state.range(0)));
    attn::Ranks ranks;
    for (auto _ : state)
        benchmark::DoNotOptimize(
            attn::ring_attention(s.q, s.k, s.v, s.positions, ranks).out.data());
}

void ours_tiled(benchmark::State& state) {
    const Sequence s(static_cast<std::size_t>(state.range(0)));
    for (auto _ : state)
        benchmark::DoNotOptimize(attn::tiled_attention(s.q, s.k, s.v, true).data());
}

}  // namespace

BENCHMARK(ring_balance)->ArgsProduct({{2, 4, 8}, {0, 1}});
BENCHMARK(bytes_per_token);
BENCHMARK(ours_ring_one_rank)->Arg(1024)->Unit(benchmark::kMillisecond);
BENCHMARK(ours_tiled)->Arg(1024)->Unit(benchmark::kMillisecond);

int main(int argc, char** argv) {
    attn::MpiSession mpi(argc, argv);
    benchmark::Initialize(&argc, argv);
    benchmark::RunSpecifiedBenchmarks();
    benchmark::Shutdown();
    return 0;
}
