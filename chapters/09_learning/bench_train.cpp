// Benchmark: one training step of chapter 09's Llama (forward, backward, clipping, AdamW on
// the parameter buffer), one thread, on a batch of 64 sequences of 10 tokens: tokens per
// second. `make bench` also runs bench_train_torch.py (the same model and batch in PyTorch
// eager, when installed) and prints the ratio of the medians.
#include "chapters/09_learning/training.hpp"
#include "common/random.hpp"

#include <benchmark/benchmark.h>

namespace {

// The chapter's model for a vocabulary of 26: dim 32, 2 blocks of 4 query heads sharing 2
// key/value heads, SwiGLU width 96, seq_len 16.
std::vector<attn::Sequence> batch(std::size_t sequences, std::size_t length) {
    attn::Rng rng(9);
    std::vector<attn::Sequence> b(sequences);
    for (attn::Sequence& s : b) {
        for (std::size_t t = 0; t < length; ++t) {
            s.inputs.push_back(static_cast<std::size_t>(rng.uniform() * 26) % 26);
            s.targets.push_back(static_cast<std::size_t>(rng.uniform() * 26) % 26);
        }
    }
    return b;
}

void ours_step(benchmark::State& state) {
    const std::size_t sequences = static_cast<std::size_t>(state.range(0)), length = 10;
    const attn::LlamaConfig config = attn::agreement_llama_config(26);
    attn::Rng rng(1);
    attn::LlamaParameters w = attn::llama_init(config, rng), gradients(config);
    attn::AdamWSettings settings;
    settings.beta2 = 0.95f;
    attn::BufferAdamW optimiser(w, settings);
    const std::vector<attn::Sequence> b = batch(sequences, length);
    attn::keep_freed_memory();  // as the chapter's program does
    for (auto _ : state) {
        // A tiny learning rate keeps the weights where they started: every step costs the same.
        benchmark::DoNotOptimize(attn::llama_training_step(w, gradients, optimiser, b, 1e-6f).loss);
    }
    state.counters["tokens_per_second"] = benchmark::Counter(
        static_cast<double>(sequences * length), benchmark::Counter::kIsIterationInvariantRate);
}

}  // namespace

BENCHMARK(ours_step)->Arg(64)->Unit(benchmark::kMillisecond);
BENCHMARK_MAIN();
