// Benchmark: greedy generation with the book's Llama (Google Benchmark), run by `make bench`
// with one OpenBLAS thread.
//
// The model has stories15M's dimensions (dim 288, hidden 768, 6 layers, 6 heads, 6 key/value
// heads, vocabulary 32000, seq_len 256) and seeded random weights, written to a checkpoint
// and read back as a downloaded model would be. The prompt is <s>; 255 tokens follow, so the
// last one sits at position 255 and the whole context is used. Greedy decoding.
//
// Decoding one token reads every weight once (60.8 MB here), so memory bandwidth bounds the
// speed. The benchmark measures the copy bandwidth in the same process (memcpy of 256 MiB,
// counted as bytes read plus bytes written, as STREAM's copy does), and reports the tokens
// per second that bandwidth would allow if a token cost exactly its weights' bytes. Reading
// alone can be a little faster than copying, so the ratio to it can pass 1.
#include "chapters/08_real_model/checkpoint.hpp"

#include <benchmark/benchmark.h>

#include <chrono>
#include <cstring>
#include <filesystem>
#include <vector>

namespace {

const attn::Llama& model() {
    static const attn::Llama llama = [] {
        const attn::LlamaConfig c = attn::stories15m_config();
        attn::Rng rng(15);
        const auto path = std::filesystem::temp_directory_path() / "attn_bench_stories15m.bin";
        attn::write_checkpoint(path, attn::Llama(c, attn::llama_random(c, rng)));
        attn::Llama read = attn::read_checkpoint(path);
        std::filesystem::remove(path);
        return read;
    }();
    return llama;
}

// Bytes moved per second by memcpy (read + written), the best of 5 copies of 256 MiB.
double copy_bandwidth() {
    static const double best = [] {
        const std::size_t n = std::size_t{256} << 20;
        std::vector<char> a(n, 1), b(n, 2);
        double fastest = 1e9;
        for (int i = 0; i < 5; ++i) {
            const auto start = std::chrono::steady_clock::now();
            std::memcpy(b.data(), a.data(), n);
            benchmark::DoNotOptimize(b.data());
            benchmark::ClobberMemory();
            fastest = std::min(
                fastest,
                std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
        }
        return 2.0 * static_cast<double>(n) / fastest;
    }();
    return best;
}

void llama_generate_greedy(benchmark::State& state) {
    const auto steps = static_cast<std::size_t>(state.range(0));
    const attn::Llama& m = model();
    std::size_t made = 0;
    for (auto _ : state) {
        attn::Rng rng(1);
        const auto tokens = attn::llama_generate(m, {1}, steps, {}, rng, {});
        made = tokens.size() - 1;
        benchmark::DoNotOptimize(tokens.data());
    }
    const double limit =
        copy_bandwidth() / static_cast<double>(attn::weight_bytes_per_token(m.config()));
    state.counters["tokens_per_second"] = benchmark::Counter(
        static_cast<double>(made), benchmark::Counter::kIsIterationInvariantRate);
    state.counters["copy_GB_per_second"] = copy_bandwidth() / 1e9;
    state.counters["bandwidth_limit_tokens_per_second"] = limit;
}

}  // namespace

BENCHMARK(llama_generate_greedy)->Arg(255)->Unit(benchmark::kMillisecond)->MinTime(2.0);

BENCHMARK_MAIN();
