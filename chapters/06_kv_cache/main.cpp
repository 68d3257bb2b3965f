/// # Chapter 06: The KV cache
///
/// Chapter 05's GPT writes text one token at a time, and at every step it runs the whole
/// sequence through the model again: at step t it computes the queries, keys and values of
/// all t tokens, though only the newest token's are new. The keys and values of a token
/// never change once computed, because with the causal mask nothing after a token can
/// affect it (chapter 03). So a decoder keeps them: the *KV cache*. Each step then
/// computes one token's query, key and value, appends the key and value to the cache, and
/// attends over everything cached.
///
/// This chapter builds the cache (kv_cache.hpp), shows that it changes the output by no
/// more than float rounding, measures the time it saves and the memory it costs, and ends
/// with the two variants that keep that memory in check: grouped-query attention and the
/// sliding window.
#include "chapters/06_kv_cache/kv_cache.hpp"

#include "chapters/03_causal_masking/causal_masking.hpp"
#include "common/blas_threads.hpp"
#include "common/chapter_program.hpp"
#include "common/plot.hpp"
#include "common/print.hpp"
#include "common/quote.hpp"
#include "common/random.hpp"

#include <xtensor/xsort.hpp>
#include <xtensor/xview.hpp>

#include <chrono>
#include <cmath>
#include <filesystem>
#include <iomanip>
#include <iostream>
#include <string>
#include <vector>

using attn::Matrix;
using attn::Vector;

/// ## The work per step
///
/// Count the FLOPs (a multiply-add is two) of one generation step at position t, for a model with L
/// layers of width d (chapter 04's attention plus a feed-forward network of width 4d).
/// Without a cache the step processes all t tokens: \f$L\,(24\,t\,d^2 + 4\,t^2 d)\f$
/// FLOPs, growing with the square of t. With the cache it processes one token, whose
/// query meets t cached keys: \f$L\,(24\,d^2 + 4\,t\,d)\f$, and the \f$24\,d^2\f$ part,
/// the projections and the feed-forward network, no longer grows at all. For GPT-2
/// small's shape (L = 12, d = 768), the blocks only (the output layer adds \f$2 d V\f$,
/// {{logits_gflops}} GFLOPs with GPT-2's V = 50257, for each token it turns into logits):
double step_flops(std::size_t L, std::size_t d, std::size_t t, bool cached) {
    const double n = cached ? 1.0 : static_cast<double>(t), D = static_cast<double>(d);
    return static_cast<double>(L) * (24.0 * n * D * D + 4.0 * n * static_cast<double>(t) * D);
}

void show_work() {
    attn::section(std::cout, "The work per step");
    std::cout << "  position t   no cache (GFLOPs)   cache (GFLOPs)   ratio\n";
    for (std::size_t t : {1, 64, 256, 1024}) {
        const double full = step_flops(12, 768, t, false), cached = step_flops(12, 768, t, true);
        std::cout << std::setw(12) << t << std::fixed << std::setprecision(3) << std::setw(20)
                  << full / 1e9 << std::setw(17) << cached / 1e9 << std::setw(8)
                  << std::setprecision(0) << full / cached << std::defaultfloat << '\n';
    }
    std::cout << "the output layer, 2 d V with V = 50257: "
              << attn::quote("logits_gflops", 2.0 * 768 * 50257 / 1e9, 3)
              << " GFLOPs per token turned into logits\n";
}

/// ## Prefill and decode
///
/// Generation runs in two phases. The *prefill* runs the whole prompt at once through
/// chapter 05's blocks and stores every layer's keys and values of every prompt token:
/// attn::CachedGpt::prefill(). Each *decode* step then runs one token,
/// attn::CachedGpt::decode(). Its position is t, the number of tokens already cached, so
/// its input is the token's embedding plus position embedding t (not 0: that would tell
/// the model it is the first word again). In every layer it computes its query, key and
/// value, appends the key and value to the layer's cache, and its query attends to all
/// cached keys, its own included. No mask is needed: the new token is the last one, so
/// every cached key is in its past.
///
/// The cache is allocated once for the whole context (here 64 positions): per layer and
/// key/value head, a `[capacity, d_head]` block for keys and one for values. Appending
/// copies the new positions in after the stored ones:
///
/// \show kv_cache.cpp KVCache::KVCache KVCache::append (exercise 6.1)
///
/// Prefill and decode are one function, forward(): the chapter-05 block, given an attention
/// sub-layer that gets its keys and values from the cache (chapter 04's `KeyValueSource`: it
/// stores the new ones and hands back every stored position). Decode is a prefill of one
/// token.
///
/// \show kv_cache.cpp KVCache::keys CachedGpt::prefill CachedGpt::decode CachedGpt::forward
void show_prefill_and_decode() {
    attn::section(std::cout, "Prefill and decode");
    const attn::GptConfig c{28, 64, 32, 2, 4, 4, 128, true};
    attn::Rng rng(10);
    const attn::Gpt model(c, attn::gpt2_init(c, rng));
    attn::CachedGpt cached(model);
    const Matrix logits = cached.prefill({19, 7, 4, 26, 3, 14, 6});
    std::cout << "prefill of 7 tokens: logits [" << logits.shape(0) << ", " << logits.shape(1)
              << "], cache position " << cached.position() << '\n';
    for (std::size_t token : {26, 2, 0}) {
        const Vector next = cached.decode(token);
        std::cout << "decode token " << std::setw(2) << token << ": logits [" << next.size()
                  << "], keys cached in layer 0: [" << cached.cache().keys(0, 0).shape(0) << ", "
                  << cached.cache().keys(0, 0).shape(1) << "] per head, cache position "
                  << cached.position() << '\n';
    }
    std::cout << "allocated: " << cached.cache().bytes()
              << " bytes = 2 x 2 layers x 4 heads x 8 (d_head) x 64 "
              << "positions x 4 bytes\n";
}

/// ## The same numbers
///
/// A cache is only an optimisation if it changes nothing. On a seeded model (2 layers,
/// 4 heads, `d_model = 32`), greedy generation of 256 tokens gives {{same_tokens}} with and
/// without the cache, and the logits of the first 64 decode steps, each compared with a full
/// recomputation of that step, match it; the program prints the largest difference. The
/// same holds with grouped-query attention (2 key/value heads for 4 query heads): the cache
/// then holds only the 2 key/value heads, half the memory, and chapter 04's mapping decides
/// which one each query head reads.
float worst_difference(const attn::Gpt& model, const std::vector<std::size_t>& tokens,
                       std::size_t prompt, std::size_t steps) {
    attn::CachedGpt cached(model);
    cached.prefill(
        std::vector<std::size_t>(tokens.begin(), tokens.begin() + static_cast<long>(prompt)));
    float worst = 0.0f;
    for (std::size_t s = 0; s < steps; ++s) {
        const Vector got = cached.decode(tokens[prompt + s]);
        const std::vector<std::size_t> seen(tokens.begin(),
                                            tokens.begin() + static_cast<long>(prompt + s + 1));
        const Matrix all = model.logits(seen);
        worst = std::max(
            worst, static_cast<float>(xt::amax(xt::abs(got - xt::row(all, all.shape(0) - 1)))()));
    }
    return worst;
}

void show_identical(std::size_t tokens) {
    attn::section(std::cout, "The same numbers");
    const std::size_t compared = std::min<std::size_t>(64, tokens);
    std::size_t fewest_same = tokens;  // over both models: the prose says what this run found
    for (std::size_t n_kv_heads : {4, 2}) {
        const attn::GptConfig c{28, 300, 32, 2, 4, n_kv_heads, 128, true};
        attn::Rng rng(11), a(1), b(1);
        const attn::Gpt model(c, attn::gpt2_init(c, rng));
        const std::vector<std::size_t> prompt{19, 7, 4, 26};
        const std::vector<std::size_t> full = attn::generate(model, prompt, tokens, 0.0f, a);
        const std::vector<std::size_t> fast = attn::generate_cached(model, prompt, tokens, 0.0f, b);
        std::size_t same = 0;
        while (same < full.size() && full[same] == fast[same]) ++same;
        fewest_same = std::min(fewest_same, same - prompt.size());
        std::cout << "  " << n_kv_heads << " key/value heads: " << same - prompt.size() << " of "
                  << tokens << " greedy tokens identical,\n    max |logit difference| over "
                  << compared << " decode steps " << std::setprecision(2)
                  << worst_difference(model, full, prompt.size(), compared) << std::defaultfloat
                  << '\n';
    }
    // Rounding may differ between the two paths; it changes a greedy token only at a near tie.
    attn::quote("same_tokens",
                fewest_same == tokens
                    ? "the same tokens"
                    : "the same first " + std::to_string(fewest_same) +
                          " tokens (then a near tie between two tokens fell the other way)");
}

/// ## Time per token
///
/// The program times each step of generating 128 tokens after a 4-token prompt, without
/// and with the cache, on a model of 2 layers, 4 heads and `d_model = 64` (one thread,
/// the fastest of 3 runs of each step, since the machine may be busy with other work).
/// Without the cache a step recomputes every position, so its time grows with the
/// position; with the cache only the attention over the cached keys grows. In this run,
/// from the first row of the table to the last, the time per token grew
/// {{growth_no_cache}} times without the cache and {{growth_cache}} times with it. `make bench`
/// measures the same on a larger model with Google Benchmark, for up to 1024 tokens.
///
/// \image html ch06_time_per_token.svg "Time per generated token against its position"
void show_time(const std::filesystem::path& figures, std::size_t steps) {
    attn::section(std::cout, "Time per token");
    using clock = std::chrono::steady_clock;
    attn::use_one_blas_thread();  // as the book's benchmarks do
    const auto fastest_ms = [](const auto& run) {
        double best = 1e300;
        for (int repeat = 0; repeat < 3; ++repeat) {
            const auto t0 = clock::now();
            run();
            best = std::min(best,
                            std::chrono::duration<double, std::milli>(clock::now() - t0).count());
        }
        return best;
    };
    const attn::GptConfig c{28, 160, 64, 2, 4, 4, 256, true};
    attn::Rng rng(12);
    const attn::Gpt model(c, attn::gpt2_init(c, rng));
    std::vector<std::size_t> tokens{19, 7, 4, 26};
    std::vector<double> positions, full_ms, cached_ms;
    attn::CachedGpt cached(model);
    cached.prefill(tokens);
    for (std::size_t step = 0; step < steps; ++step) {
        Matrix all;
        full_ms.push_back(fastest_ms([&] { all = model.logits(tokens); }));
        const std::size_t next = attn::greedy_token(xt::row(all, all.shape(0) - 1));
        // A decode step changes the cache: each timed repeat decodes into its own copy,
        // made before the clock starts.
        std::vector<attn::CachedGpt> copies(3, cached);
        std::size_t repeat = 0;
        cached_ms.push_back(fastest_ms([&] { copies[repeat++].decode(next); }));
        cached.decode(next);
        tokens.push_back(next);
        positions.push_back(static_cast<double>(tokens.size() - 1));
    }
    std::cout << "  position   no cache (ms)   cache (ms)\n";
    for (std::size_t i :
         {std::size_t{0}, steps / 4 - 1, steps / 2 - 1, 3 * steps / 4 - 1, steps - 1})
        std::cout << std::setw(10) << positions[i] << std::fixed << std::setprecision(3)
                  << std::setw(16) << full_ms[i] << std::setw(13) << cached_ms[i]
                  << std::defaultfloat << '\n';
    double total_full = 0, total_cached = 0;
    for (std::size_t i = 0; i < positions.size(); ++i)
        total_full += full_ms[i], total_cached += cached_ms[i];
    std::cout << "from the first row to the last, the time per token grew "
              << attn::quote("growth_no_cache", full_ms.back() / full_ms[0], 1)
              << " times without the cache\nand "
              << attn::quote("growth_cache", cached_ms.back() / cached_ms[0], 1)
              << " times with it\n";
    std::cout << "all " << steps << " steps: " << std::setprecision(3) << total_full
              << " ms without the cache, " << total_cached
              << " ms with it (the times vary from run to run)\n"
              << std::defaultfloat;
    attn::write_svg_line_plot(figures / "ch06_time_per_token.svg", positions,
                              {{"no cache (recompute)", full_ms}, {"KV cache", cached_ms}},
                              "Chapter 06: time per generated token", "position of the token",
                              "milliseconds (log scale)", true);
    std::cout << "Figure written to " << (figures / "ch06_time_per_token.svg").string() << '\n';
}

/// ## Memory: the main cost of inference
///
/// The cache holds, per token, a key and a value for every layer and key/value head:
///
/// \f[ \mathrm{bytes} = 2 \times \mathrm{layers} \times \mathrm{kv\ heads} \times d_{head}
///     \times \mathrm{tokens} \times \mathrm{bytes\ per\ number} \times \mathrm{batch} \f]
///
/// (attn::kv_cache_bytes(), which equals what attn::KVCache allocates.)
///
/// \show kv_cache.cpp kv_cache_bytes
///
/// Below, in fp16 (2
/// bytes), for one sequence of 4k, 32k and 128k tokens, and the context length (in
/// tokens) from which the cache outweighs the model's own weights; lengths beyond a model's
/// context are hypothetical (GPT-2 small reads 1024 tokens, Llama 2 4096, Llama 3 8B 8192). Llama-2-7B keeps all 32 key/value heads;
/// Llama-3-8B, of nearly the same size, keeps 8 (grouped-query attention), a quarter of
/// the memory. Mistral-7B adds a 4096-token sliding window: its cache never grows past
/// 4096 tokens.
struct ModelShape {
    const char* name;
    std::size_t layers, kv_heads, d_head, window;  // window 0: none
    double parameters;
};

std::string gib(double bytes) {
    char buffer[32];
    std::snprintf(buffer, sizeof buffer, "%.2f GiB", bytes / (1024.0 * 1024.0 * 1024.0));
    return buffer;
}

void show_memory() {
    attn::section(std::cout, "Memory: the main cost of inference");
    const ModelShape models[] = {{"GPT-2 small", 12, 12, 64, 0, 124.4e6},
                                 {"Llama-2-7B", 32, 32, 128, 0, 6.74e9},
                                 {"Llama-3-8B", 32, 8, 128, 0, 8.03e9},
                                 {"Mistral-7B", 32, 8, 128, 4096, 7.24e9}};
    std::cout << "  model          per token     4k tokens    32k tokens   128k tokens   cache > "
                 "weights\n";
    for (const ModelShape& m : models) {
        const auto cache = [&](std::size_t tokens) {
            const std::size_t kept = m.window ? std::min(tokens, m.window) : tokens;
            return static_cast<double>(
                attn::kv_cache_bytes(m.layers, m.kv_heads, m.d_head, kept, 2));
        };
        const double per_token =
            static_cast<double>(attn::kv_cache_bytes(m.layers, m.kv_heads, m.d_head, 1, 2));
        const double crossover = m.parameters * 2.0 / per_token;
        std::cout << "  " << std::left << std::setw(12) << m.name << std::right << std::setw(8)
                  << static_cast<std::size_t>(per_token / 1024) << " KiB" << std::setw(14)
                  << gib(cache(4096)) << std::setw(14) << gib(cache(32768)) << std::setw(14)
                  << gib(cache(131072)) << std::setw(18)
                  << (m.window && crossover > static_cast<double>(m.window)
                          ? std::string("never")
                          : "from " + std::to_string(static_cast<std::size_t>(crossover)))
                  << '\n';
    }
    const attn::KVCache check(32, 8, 128, 64);
    std::cout << "\nallocated by a KVCache(32 layers, 8 kv heads, d_head 128, 64 positions): "
              << check.bytes() << " bytes\nthe formula in float32:" << std::setw(58)
              << attn::kv_cache_bytes(32, 8, 128, 64, 4) << " bytes\n";
}

/// ## A sliding window in a ring buffer
///
/// With a sliding window of w tokens (chapter 03), a query never sees a key older than
/// w positions, so the cache needs only w slots: position p goes into slot p mod w,
/// overwriting the key that just left the window (attn::RingKVCache). The slots are then
/// out of order, and that is fine: attention treats its keys as a set (chapter 02), and a
/// key's position is carried in the key itself. One attention layer (seed 13, 4 heads, 2
/// key/value heads) decoded token by token through the ring buffer equals chapter 03's
/// sliding-window mask computed over the whole sequence, while its memory stays flat:
///
/// \show kv_cache.cpp RingKVCache::append sliding_window_decode
void show_ring_buffer() {
    attn::section(std::cout, "A sliding window in a ring buffer");
    attn::Rng rng(13);
    const attn::MultiHeadWeights w = attn::random_multi_head_weights(16, 4, 2, rng);
    std::cout
        << "  tokens   window   max |ring - full mask|   ring buffer bytes   full cache bytes\n";
    for (std::size_t T : {4, 8, 16, 32}) {
        const Matrix x = attn::random_normal(T, 16, rng);
        std::size_t bytes = 0;
        const Matrix ring = attn::sliding_window_decode(x, w, 4, &bytes);
        const Matrix full =
            attn::multi_head_attention(x, w, attn::sliding_window_mask(T, 4)).output;
        std::cout << std::setw(8) << T << std::setw(9) << 4 << std::setw(25) << std::setprecision(2)
                  << xt::amax(xt::abs(ring - full))() << std::setw(20) << bytes << std::setw(19)
                  << attn::kv_cache_bytes(1, 2, 4, T, 4) << std::defaultfloat << '\n';
    }
    std::cout << "\nslots of positions 0..9 with w = 4:";
    const attn::RingKVCache r(2, 4, 4);
    for (std::size_t p = 0; p < 10; ++p) std::cout << ' ' << r.slot(p);
    std::cout << '\n';
}

/// ## The program
///
/// The entry point runs the sections above in order; attn::run_chapter() reads the
/// options (`--figures DIR`, `--help`) and reports errors. `--quick yes` generates 32
/// tokens instead of 256 and times 32 steps instead of 128 (the test suite and the
/// sanitizers use it).
constexpr const char* description =
    "Builds the KV cache for chapter 05's GPT: prefill and decode, identical logits,\n"
    "time per token with and without it, its memory, and a sliding-window ring buffer.";

int main(int argc, char** argv) {
    std::vector<attn::ChapterOption> options = {
        {"quick", "yes|no", "fewer tokens and steps (for tests)", "no", false}};
    return attn::run_chapter(argc, argv, description, options,
                             [&](const std::filesystem::path& figures) {
                                 const bool quick = options[0].value == "yes";
                                 show_work();
                                 show_prefill_and_decode();
                                 show_identical(quick ? 32 : 256);
                                 show_time(figures, quick ? 32 : 128);
                                 show_memory();
                                 show_ring_buffer();
                             });
}

/// ## What comes next
///
/// With the cache, a decode step is small, but the attention inside the prefill (and
/// during training) still builds the whole `[T, T]` score matrix. Chapter 07 computes
/// attention without it: the online softmax and tiling of FlashAttention, on a CPU.
