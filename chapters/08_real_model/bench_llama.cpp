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
//
// The checkpoint is memory-mapped, not copied. The peak resident memory of reading it and
// generating the 255 tokens is measured in a child process started before anything else is
// allocated (getrusage's ru_maxrss), and reported against the file's size. Writing the random
// model happens in another child, so its copy of the weights is not counted.
//
// ATTN_BENCH_CHECKPOINT=FILE keeps the checkpoint at FILE, so that another program (llama2.c's
// run.c, say) can be timed on the same weights.
#include "chapters/08_real_model/checkpoint.hpp"

#include <benchmark/benchmark.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <stdexcept>
#include <vector>

#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

namespace {

std::filesystem::path checkpoint_path() {
    const char* keep = std::getenv("ATTN_BENCH_CHECKPOINT");
    return keep ? std::filesystem::path(keep)
                : std::filesystem::temp_directory_path() / "attn_bench_stories15m.bin";
}

// Runs `work` in a child process and returns what it wrote to the pipe (a number).
template <class Work>
double in_child(Work work) {
    int fds[2];
    if (pipe(fds) != 0) throw std::runtime_error("bench_llama: pipe failed");
    const pid_t pid = fork();
    if (pid < 0) throw std::runtime_error("bench_llama: fork failed");
    if (pid == 0) {
        double result = -1.0;
        try {
            result = work();
        } catch (const std::exception& e) {
            std::fprintf(stderr, "bench_llama: %s\n", e.what());
        }
        const ssize_t written = write(fds[1], &result, sizeof result);
        _exit(written == sizeof result && result >= 0.0 ? 0 : 1);
    }
    close(fds[1]);
    double result = -1.0;
    const ssize_t got = read(fds[0], &result, sizeof result);
    close(fds[0]);
    int status = 0;
    waitpid(pid, &status, 0);
    if (got != sizeof result || !WIFEXITED(status) || WEXITSTATUS(status) != 0)
        throw std::runtime_error("bench_llama: the child process failed");
    return result;
}

double peak_resident_bytes() {
    rusage usage{};
    getrusage(RUSAGE_SELF, &usage);
    return static_cast<double>(usage.ru_maxrss) * 1024.0;  // Linux reports kilobytes
}

// The peak resident memory of reading the checkpoint and generating 255 tokens, and of the
// same process before it read anything; set by main() before the benchmarks run.
double peak_with_model = 0.0, peak_before = 0.0, file_bytes = 0.0;

const attn::Llama& model() {
    static const attn::Llama llama = attn::read_checkpoint(checkpoint_path());
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
    state.counters["peak_resident_MB"] = peak_with_model / 1e6;
    state.counters["peak_resident_before_loading_MB"] = peak_before / 1e6;
    state.counters["file_MB"] = file_bytes / 1e6;
}

}  // namespace

BENCHMARK(llama_generate_greedy)->Arg(255)->Unit(benchmark::kMillisecond)->MinTime(2.0);

int main(int argc, char** argv) {
    const auto path = checkpoint_path();
    in_child([&] {
        const attn::LlamaConfig c = attn::stories15m_config();
        attn::Rng rng(15);
        attn::write_checkpoint(path, attn::Llama(c, attn::llama_random(c, rng)));
        return 0.0;
    });
    file_bytes = static_cast<double>(std::filesystem::file_size(path));
    peak_before = in_child([] { return peak_resident_bytes(); });
    peak_with_model = in_child([&] {
        const attn::Llama m = attn::read_checkpoint(path);
        attn::Rng rng(1);
        benchmark::DoNotOptimize(attn::llama_generate(m, {1}, 255, {}, rng, {}).data());
        return peak_resident_bytes();
    });
    benchmark::Initialize(&argc, argv);
    if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
    model();  // mapped; the file can go now unless it is to be kept
    if (!std::getenv("ATTN_BENCH_CHECKPOINT")) std::filesystem::remove(path);
    benchmark::RunSpecifiedBenchmarks();
    benchmark::Shutdown();
    return 0;
}
