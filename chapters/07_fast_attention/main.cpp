/// # Chapter 07: Fast attention
///
/// Every chapter so far computed attention as the formula reads: the `[T, T]` matrix of
/// scores, its softmax row by row, then the product with V. That is clear, and slow: the
/// matrix is written, read, exponentiated, written and read again, and at T = 4096 it is
/// {{score_matrix_4096}} per head. This chapter finds where the time goes, then removes the
/// matrix: the *online softmax* processes a row's scores in pieces, and *tiling*
/// (FlashAttention, Dao et al. 2022) walks blocks of queries against blocks of keys with
/// matrix products, never holding more than one small tile of scores. With causal attention
/// it skips the blocks above the diagonal entirely. In this build's run, on one core at
/// T = 4096, the tiled form ran {{tiled_vs_naive}} the book's naive form, and
/// {{tiled_vs_naive_causal}} it with causal attention; `make bench` also times it against
/// PyTorch's `softmax(Q K^T / sqrt(d)) V`. The pieces live in fast_attention.hpp, and the
/// softmax's inner loops, many scores per vector instruction, in softmax_kernels.hpp.
#include "chapters/01_single_head_attention/single_head_attention.hpp"
#include "chapters/03_causal_masking/causal_masking.hpp"
#include "chapters/07_fast_attention/fast_attention.hpp"

#include "common/allocation_count.hpp"
#include "common/blas_threads.hpp"
#include "common/chapter_program.hpp"
#include "common/plot.hpp"
#include "common/print.hpp"
#include "common/quote.hpp"
#include "common/random.hpp"

#include <xtensor-blas/xlinalg.hpp>
#include <xtensor/xview.hpp>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iomanip>
#include <iostream>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include <unistd.h>

using attn::Mask;
using attn::Matrix;
using attn::Vector;

/// ## Where the time goes
///
/// The program times the three steps of chapter 01's matrix form at d = 64, one thread,
/// the median of 5 runs each: the scores \f$Q K^\top\f$ (a matrix product, \f$2 T^2 d\f$
/// FLOPs, here with the writing and scaling of the `[T, T]` matrix included), the softmax
/// of every row (a few operations per score, but each score read and written twice), and
/// the weighted sum \f$W V\f$ (another \f$2 T^2 d\f$, the pure product). The softmax does
/// about {{softmax_flop_share}}% of the arithmetic ({{softmax_ops}} operations per score,
/// against \f$4d = 256\f$ for the two products at d = 64), but it streams the `[T, T]`
/// matrix through memory: its *arithmetic intensity* (FLOPs per byte moved) is well below 1
/// ({{softmax_ops}} operations per {{softmax_bytes}} bytes), the products' about d / 2. So
/// its share of the time can be far larger than its share of the arithmetic. The table
/// below is this build's, and the program works out the softmax's share of the time from
/// it: {{softmax_time_share}}% of the time at T = 2048, and so {{softmax_time_ratio}} times
/// its share of the arithmetic.
double milliseconds_of(const auto& run, int repeats = 5) {
    std::vector<double> t;
    for (int r = 0; r < repeats; ++r) {
        const auto start = std::chrono::steady_clock::now();
        run();
        t.push_back(
            std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start)
                .count());
    }
    std::sort(t.begin(), t.end());
    return t[t.size() / 2];
}

// The softmax's arithmetic per score: compare it with the maximum, subtract the maximum,
// exponentiate, add to the sum, divide by the sum. Its memory traffic: each 4-byte score
// read and written twice.
constexpr int softmax_ops = 5;
constexpr std::size_t softmax_bytes = 2 * 2 * sizeof(float);

void show_where_the_time_goes() {
    attn::section(std::cout, "Where the time goes");
    std::cout << "  T      Q K^T (ms)   softmax (ms)   W V (ms)   score matrix\n";
    double share = 0.0;
    for (std::size_t T : {256, 1024, 2048}) {
        attn::Rng rng(T);
        const Matrix q = attn::random_normal(T, 64, rng), k = attn::random_normal(T, 64, rng),
                     v = attn::random_normal(T, 64, rng);
        Matrix scores, weights, out;
        const double t_scores = milliseconds_of([&] { scores = attn::scaled_scores(q, k); });
        const double t_softmax = milliseconds_of([&] { weights = attn::softmax_rows(scores); });
        const double t_out = milliseconds_of([&] { out = xt::linalg::dot(weights, v); });
        std::cout << std::setw(5) << T << std::fixed << std::setprecision(2) << std::setw(13)
                  << t_scores << std::setw(15) << t_softmax << std::setw(11) << t_out
                  << std::setw(11) << static_cast<double>(T * T * 4) / (1024 * 1024) << " MiB\n"
                  << std::defaultfloat;
        share = t_softmax / (t_scores + t_softmax + t_out);
    }
    const double arithmetic_share = softmax_ops / (softmax_ops + 4.0 * 64);
    std::cout << "\nAt T = 2048 the softmax took "
              << attn::quote("softmax_time_share", 100.0 * share, 0)
              << "% of the time of the three steps (medians of 5 runs),\nfor about "
              << attn::quote("softmax_flop_share", 100.0 * arithmetic_share, 0)
              << "% of the arithmetic (" << attn::quote("softmax_ops", std::to_string(softmax_ops))
              << " operations per score, against 4d = 256 for the products,\non "
              << attn::quote("softmax_bytes", std::to_string(softmax_bytes))
              << " bytes moved per score): "
              << attn::quote("softmax_time_ratio", share / arithmetic_share, 0)
              << " times its share of the arithmetic.\n";
}

/// ## The online softmax
///
/// A softmax needs the maximum of its row before it can start (to subtract it) and the
/// sum of all exponentials before it can divide. Both can be kept *while* the row streams
/// by (Milakov and Gimelshein 2018): a running maximum m and a running sum
/// \f$\ell = \sum_j e^{x_j - m}\f$. When a new maximum m' arrives, every term already in
/// \f$\ell\f$ is off by the same factor, so \f$\ell \leftarrow \ell\, e^{m - m'} + e^{x - m'}\f$.
/// Two partial states \f$(m_a, \ell_a)\f$ and \f$(m_b, \ell_b)\f$ of two pieces of a row
/// merge exactly:
///
/// \f[ m = \max(m_a, m_b), \qquad \ell = \ell_a e^{m_a - m} + \ell_b e^{m_b - m} \f]
///
/// attn::softmax_state() and attn::merge_states() do this, and attn::online_softmax()
/// turns a row's state into its weights:
///
/// \show fast_attention.cpp softmax_state merge_states
///
/// \show fast_attention.cpp online_softmax
///
/// Below, a row of 12 logits as one stream, and as two pieces merged, against the
/// two-pass softmax of chapter 01.
void show_online_softmax() {
    attn::section(std::cout, "The online softmax");
    const Vector x{2, 7, 1, 8, 2, 8, 1, 8, 2, 8, 4, 5};
    const attn::SoftmaxState whole = attn::softmax_state(x);
    const attn::SoftmaxState a = attn::softmax_state(xt::view(x, xt::range(0, 5)));
    const attn::SoftmaxState b = attn::softmax_state(xt::view(x, xt::range(5, 12)));
    const attn::SoftmaxState merged = attn::merge_states(a, b);
    std::cout << std::setprecision(6) << "one stream:     max " << whole.max << ", sum "
              << whole.sum << "\npiece 0..4:     max " << a.max << ", sum " << a.sum
              << "\npiece 5..11:    max " << b.max << ", sum " << b.sum << "\nmerged:         max "
              << merged.max << ", sum " << merged.sum << "\nmax |online_softmax - softmax| = "
              << xt::amax(xt::abs(attn::online_softmax(x) - attn::softmax(x)))()
              << std::defaultfloat << '\n';
}

/// ## Tiling
///
/// attn::tiled_attention() applies the online softmax to whole blocks. For a block of
/// queries (B of them) it keeps, per query, the running maximum and sum and a running
/// output \f$o\f$ `[B, d_v]`, and walks the blocks of keys (B at a time):
///
/// 1. \f$S = Q_b K_b^\top / \sqrt{d}\f$, one `[B, B]` tile, by one matrix product (the
///    block size is chosen two sections below);
/// 2. per row, the tile's maximum, the new running maximum m', the factor
///    \f$c = e^{m - m'}\f$, and \f$P = e^{S - m'}\f$;
/// 3. \f$\ell \leftarrow c\,\ell + \sum_j P_j\f$, \f$o \leftarrow c\, o + P V_b\f$ (a second
///    matrix product);
///
/// and at the end divides o by \f$\ell\f$. With the causal mask, a block of keys that lies
/// wholly after the block of queries is never visited: half the tiles. The loops over a
/// row in steps 2 and 3 (attn::row_maximum(), attn::exp_row(), attn::scale_row()) work on
/// raw floats, many at once: the next section shows them and measures the gain.
/// The result equals chapter 03's masked attention, whatever T (here not a multiple of the
/// 256-row block), causal or not, with a fully masked row and with scores of size 1e4.
///
/// \show fast_attention.cpp tiled_attention
void show_tiling() {
    attn::section(std::cout, "Tiling");
    attn::Rng rng(7);
    for (std::size_t T : {300, 1000}) {
        const Matrix q = attn::random_normal(T, 64, rng), k = attn::random_normal(T, 64, rng),
                     v = attn::random_normal(T, 64, rng);
        const Mask all = xt::ones<bool>({T, T});
        std::cout << "  T = " << std::setw(4) << T << "  max |tiled - masked|: not causal "
                  << std::setprecision(2)
                  << xt::amax(xt::abs(attn::tiled_attention(q, k, v, false) -
                                      attn::masked_attention(q, k, v, all).output))()
                  << ", causal "
                  << xt::amax(
                         xt::abs(attn::tiled_attention(q, k, v, true) -
                                 attn::masked_attention(q, k, v, attn::causal_mask(T)).output))()
                  << std::defaultfloat << '\n';
    }
    const Matrix q = attn::random_normal(200, 64, rng, 60.0f),
                 k = attn::random_normal(200, 64, rng, 60.0f),
                 v = attn::random_normal(200, 64, rng);
    attn::Mask allowed = attn::sliding_window_mask(200, 50);
    xt::view(allowed, 7, xt::all()) = false;
    const Matrix tiled = attn::tiled_attention(q, k, v, false, &allowed);
    std::cout << "  scores up to " << std::setprecision(3)
              << xt::amax(xt::abs(attn::scaled_scores(q, k)))()
              << ", a sliding window, row 7 fully masked:\n    "
              << "max difference " << std::setprecision(2)
              << xt::amax(xt::abs(tiled - attn::masked_attention(q, k, v, allowed).output))()
              << ", row 7 all zeros: "
              << (xt::amax(xt::abs(xt::row(tiled, 7)))() == 0.0f ? "yes" : "no")
              << std::defaultfloat << '\n';
}

/// ## Vectorised exp and maximum
///
/// For every row of every tile, tiled_attention() goes over the scores for their maximum,
/// their exponentials and the sum of those. That is the softmax's share of the work, and
/// the only arithmetic on scores outside OpenBLAS, so its loops are written for vector
/// instructions, as many scores per instruction as the machine's vectors hold (8 with
/// AVX2, 16 with AVX-512). They live in softmax_kernels.cpp, the one
/// file compiled with `-O3 -march=native` and with float sums that may be reassociated. That
/// file holds raw loops over `float*` and includes only `<cmath>`, `<cstdint>` and
/// `<cstring>`: an inline function of xtensor compiled there with these flags, and in the
/// other files without them, would be two different functions under one name, and the
/// linker keeps only one of them.
///
/// **The maximum.** The plain loop `m = s[j] > m ? s[j] : m` is a chain: each step needs the
/// m of the step before. A vector instruction would compare 16 scores with 16 running maxima
/// at once and combine those at the end: the same maximum, found in another order. But with
/// a NaN the expression is not symmetric: it returns m whenever one of the two is NaN, so
/// swapping them changes the answer. GCC therefore takes it for a maximum, which it may
/// compute in any order, only under `-ffinite-math-only`, the promise that no number is NaN
/// or infinite. That promise cannot be made here: a masked key's score is -inf, a row the
/// mask hides entirely has the maximum -inf, and under the flag the compiler may fold away
/// the tests that give such a row zeros and a row with a NaN score NaN (`m == -inf`,
/// `std::isnan`). attn::row_maximum() writes the 16 running maxima out instead: each step
/// is element-wise, `vmaxps` on x86, which computes exactly `a > b ? a : b`, NaN included, and
/// the order in which the 16 are combined is in the source, so nothing is reordered. (GCC 12
/// unrolls the 16 steps into 16 scalar chains, which it does not gather back into a vector:
/// `#pragma GCC unroll 1` keeps them a loop, which it vectorises.)
///
/// \show softmax_kernels.cpp row_maximum
///
/// **The exponential.** `std::exp` is a call into the C library for each score, and a loop
/// with a call in it is not vectorised (GCC calls glibc's vector exp only under
/// `-ffast-math`, which includes `-ffinite-math-only`). attn::fast_exp() computes
/// \f$e^x\f$ with arithmetic alone. With n the integer nearest \f$x / \ln 2\f$ and
/// \f$r = x - n \ln 2\f$, so that \f$|r| \le \ln 2 / 2\f$:
///
/// \f[ e^x = 2^n\, e^r \f]
///
/// r needs care: \f$n \ln 2\f$ (up to 87) is close to x, and float holds neither ln 2 nor
/// the product exactly (the product's rounding alone is up to 4e-6), while an error
/// \f$\delta\f$ in r is a relative error \f$e^\delta - 1 \approx \delta\f$ in \f$e^x\f$.
/// Cody and Waite split ln 2 into \f$c_1 = 0.693359375\f$, whose 9 significant bits make
/// \f$n c_1\f$ exact in float, and the small rest \f$c_2 \approx -2.12 \cdot 10^{-4}\f$:
/// \f$x - n c_1\f$ loses nothing, and \f$n c_2\f$ is below 0.03, so its rounding is tiny. On
/// \f$|r| \le 0.35\f$, a polynomial of degree 7 gives \f$e^r\f$ to float precision
/// (Cephes's coefficients). \f$2^n\f$ takes no arithmetic at all: a float is
/// \f$(1 + f) \cdot 2^{e - 127}\f$, with the fraction f in bits 0 to 22 and the exponent e
/// in bits 23 to 30, so the integer
/// \f$(n + 127) \cdot 2^{23}\f$, read as a float, is exactly \f$2^n\f$. Below x = -87 the
/// result is 0 (\f$e^{-87} \approx 1.6 \cdot 10^{-38}\f$, near the smallest normal float),
/// so a masked key's \f$e^{-\infty}\f$ is 0; above 88, x is capped, which a softmax never
/// meets (it exponentiates \f$x - m \le 0\f$). No branch, no table, no call: each step is one
/// vector instruction on a whole vector of scores. `exp_inline` is fast_exp()'s body, which
/// attn::exp_row() applies to a row against the row's maximum, adding the results up in one
/// partial sum per lane of the vector.
///
/// \show softmax_kernels.cpp exp_inline exp_row
///
/// The plain loops are in the same file, compiled with the same flags, so that the
/// comparison measures the technique alone: attn::plain_row_maximum() and
/// attn::plain_exp_row(), which calls `std::exp`. The program runs each pair on a row of
/// {{kernel_row}} scores, {{kernel_passes}} passes over it, and prints the time per score
/// (the median of 5 runs). It
/// also measures fast_exp()'s largest relative error at a million points between -87 and
/// 88, against \f$e^x\f$ computed in double, beside `std::exp`'s own.
void show_vectorised_kernels() {
    attn::section(std::cout, "Vectorised exp and maximum");
    constexpr std::size_t n = 4096;
    constexpr int passes = 2000;
    attn::Rng rng(5);
    const Vector scores = attn::random_normal(n, rng, 3.0f);
    float max_plain = 0.0f, max_vectorised = 0.0f;
    const double t_max_plain = milliseconds_of([&] {
        for (int p = 0; p < passes; ++p) max_plain = attn::plain_row_maximum(scores.data(), n);
    });
    const double t_max_vectorised = milliseconds_of([&] {
        for (int p = 0; p < passes; ++p) max_vectorised = attn::row_maximum(scores.data(), n);
    });
    // The same row exponentiated both ways, to compare; then it is exponentiated again and
    // again in place, against 1: numbers in [0, 1] stay in [1/e, 1], ordinary every time.
    std::vector<float> plain(scores.begin(), scores.end()), vectorised = plain;
    attn::plain_exp_row(plain.data(), n, max_plain);
    attn::exp_row(vectorised.data(), n, max_plain);
    float exp_difference = 0.0f;
    for (std::size_t j = 0; j < n; ++j)
        exp_difference = std::max(exp_difference, std::abs(vectorised[j] - plain[j]) / plain[j]);
    const double t_exp_plain = milliseconds_of([&] {
        for (int p = 0; p < passes; ++p) attn::plain_exp_row(plain.data(), n, 1.0f);
    });
    const double t_exp_vectorised = milliseconds_of([&] {
        for (int p = 0; p < passes; ++p) attn::exp_row(vectorised.data(), n, 1.0f);
    });

    double error_fast = 0.0, error_std = 0.0;
    constexpr int points = 1'000'000;
    for (int i = 0; i <= points; ++i) {
        const float x = -87.0f + 175.0f * static_cast<float>(i) / points;
        const double exact = std::exp(static_cast<double>(x));
        error_fast = std::max(error_fast, std::abs(attn::fast_exp(x) - exact) / exact);
        error_std = std::max(error_std, std::abs(std::exp(x) - exact) / exact);
    }

    const double per_score = 1e6 / (static_cast<double>(n) * passes);  // ms a run -> ns a score
    const auto row = [&](const char* loop, double plain_ms, double vectorised_ms) {
        std::cout << "  " << std::left << std::setw(16) << loop << std::right << std::fixed
                  << std::setprecision(3) << std::setw(18) << plain_ms * per_score << std::setw(24)
                  << vectorised_ms * per_score << std::setprecision(1) << std::setw(10)
                  << plain_ms / vectorised_ms << "x\n"
                  << std::defaultfloat;
    };
    std::cout << "  a row of " << attn::quote("kernel_row", std::to_string(n)) << " scores, "
              << attn::quote("kernel_passes", std::to_string(passes))
              << " passes over it, the median of 5 runs\n\n"
              << "  loop              plain (ns/score)   vectorised (ns/score)   speed-up\n";
    row("maximum", t_max_plain, t_max_vectorised);
    row("exp and sum", t_exp_plain, t_exp_vectorised);
    std::cout << std::setprecision(2) << "\n  the same row both ways: maximum "
              << (max_plain == max_vectorised ? "equal" : "different") << ", exponentials within "
              << exp_difference << " (relative)\n"
              << "  largest relative error against e^x in double, " << points + 1
              << " points in [-87, 88]:\n    attn::fast_exp " << error_fast << ", std::exp "
              << error_std << '\n';
    const auto compared = [](double ratio) {
        std::ostringstream text;
        text << std::fixed << std::setprecision(1);
        if (ratio >= 1.0)
            text << ratio << "x as fast as";
        else
            text << 1.0 / ratio << "x slower than";
        return text.str();
    };
    std::cout << "\nIn this run the 16-lane maximum was "
              << compared(t_max_plain / t_max_vectorised) << " the plain loop,\nand exp_row "
              << compared(t_exp_plain / t_exp_vectorised)
              << " std::exp,\nwith fast_exp's relative error at most " << std::setprecision(2)
              << error_fast << " (std::exp's own: " << error_std << ").\n"
              << std::defaultfloat;
}

/// ## Choosing the block size
///
/// A tile should stay in the core's caches while it is used. With blocks of B queries and
/// B keys at d = 64, each step of the walk uses the query, key and value blocks and the
/// running output, `[B, 64]` floats each, and the `[B, B]` tile of scores: at B = 256,
/// {{block_256}} each and {{tile_256}} for the tile, {{working_set_256}} in all. Larger
/// blocks give the matrix products more work per call, and smaller ones spend more time
/// outside the products (more tiles, more per-row bookkeeping), until the working set
/// outgrows the level-2 cache. {{cache_sizes}} The default of attn::Tiles is 256 x 256. The
/// program times every block size at T = 1024 and 4096, not causal, and names the fastest:
/// in this run, {{fastest_block}}.
///
/// The program reads the cache sizes from the system (sysconf, or Linux's
/// `/sys/devices/system/cpu`):
std::size_t cache_bytes(int level) {  // level 1: data cache; 0 when the system does not say
#ifdef _SC_LEVEL1_DCACHE_SIZE
    const long size = sysconf(level == 1 ? _SC_LEVEL1_DCACHE_SIZE : _SC_LEVEL2_CACHE_SIZE);
    if (size > 0) return static_cast<std::size_t>(size);
#endif
    const std::filesystem::path cpu0 = "/sys/devices/system/cpu/cpu0/cache";
    for (int index = 0; index < 8; ++index) {
        const std::filesystem::path dir = cpu0 / ("index" + std::to_string(index));
        int found_level = 0;
        std::string type, text;
        std::ifstream(dir / "level") >> found_level;
        std::ifstream(dir / "type") >> type;
        std::ifstream(dir / "size") >> text;  // e.g. "48K"
        if (found_level != level || type == "Instruction" || text.empty()) continue;
        char* unit = nullptr;
        const unsigned long value = std::strtoul(text.c_str(), &unit, 10);
        return value * (*unit == 'K' ? 1024 : *unit == 'M' ? 1024 * 1024 : 1);
    }
    return 0;
}

std::string size_text(std::size_t bytes) {  // "48 KiB", "1.5 MiB"
    char buffer[32];
    if (bytes >= 1024 * 1024)
        std::snprintf(buffer, sizeof buffer, "%g MiB", static_cast<double>(bytes) / (1024 * 1024));
    else
        std::snprintf(buffer, sizeof buffer, "%g KiB", static_cast<double>(bytes) / 1024);
    return buffer;
}

void show_block_sizes() {
    attn::section(std::cout, "Choosing the block size");
    const std::size_t l1 = cache_bytes(1), l2 = cache_bytes(2);
    // One step's working set: Q, K and V blocks and the running output, [B, 64] floats
    // each, and the [B, B] tile of scores.
    const auto working_set = [](std::size_t b) { return (4 * b * 64 + b * b) * sizeof(float); };
    std::cout << "  block (queries x keys)   working set   T = 1024 (ms)   T = 4096 (ms)\n";
    attn::Rng rng(11);
    const Matrix q1 = attn::random_normal(1024, 64, rng), k1 = attn::random_normal(1024, 64, rng),
                 v1 = attn::random_normal(1024, 64, rng);
    const Matrix q4 = attn::random_normal(4096, 64, rng), k4 = attn::random_normal(4096, 64, rng),
                 v4 = attn::random_normal(4096, 64, rng);
    std::size_t fastest = 0, largest_in_l2 = 0;
    double best = 0.0, default_time = 0.0;
    for (std::size_t b : {32, 64, 128, 256, 512}) {
        const attn::Tiles tiles{b, b};
        const double t1 =
            milliseconds_of([&] { attn::tiled_attention(q1, k1, v1, false, nullptr, tiles); });
        const double t4 =
            milliseconds_of([&] { attn::tiled_attention(q4, k4, v4, false, nullptr, tiles); }, 3);
        std::cout << std::setw(12) << b << " x " << std::setw(3) << b << std::setw(14)
                  << size_text(working_set(b)) << std::fixed << std::setprecision(2)
                  << std::setw(16) << t1 << std::setw(16) << t4 << std::defaultfloat << '\n';
        if (fastest == 0 || t4 < best) {
            fastest = b;
            best = t4;
        }
        if (b == attn::Tiles{}.queries) default_time = t4;
        if (l2 && working_set(b) <= l2) largest_in_l2 = b;
    }
    const std::size_t b = 256, block = b * 64 * sizeof(float), tile = b * b * sizeof(float);
    std::cout << "\nAt B = 256: blocks of " << attn::quote("block_256", size_text(block))
              << ", a tile of " << attn::quote("tile_256", size_text(tile)) << ", "
              << attn::quote("working_set_256", size_text(working_set(b))) << " in all.\n";
    std::string caches;
    if (l1 && l2) {
        caches = "Each core of this machine has " + size_text(l1) +
                 " of level-1 data cache, and its level-2 cache holds " + size_text(l2) + ": " +
                 (largest_in_l2 ? "blocks up to " + std::to_string(largest_in_l2) + " x " +
                                      std::to_string(largest_in_l2) + " (" +
                                      size_text(working_set(largest_in_l2)) + ") fit in it."
                                : "even the smallest blocks here outgrow it.");
    } else {
        caches =
            "The system does not say how large this machine's caches are, so the "
            "timings below are the only guide.";
    }
    std::cout << attn::wrap(attn::quote("cache_sizes", caches)) << '\n';
    std::string named = std::to_string(fastest) + " x " + std::to_string(fastest);
    if (fastest == attn::Tiles{}.queries) {
        named += ", the default";
    } else {
        std::ostringstream behind;
        behind << std::fixed << std::setprecision(0) << 100.0 * (default_time / best - 1.0);
        named += "; the default took " + behind.str() + "% longer";
    }
    std::cout << "Fastest at T = 4096 in this run (medians): "
              << attn::quote("fastest_block", named) << ".\nThe default of attn::Tiles is "
              << attn::Tiles{}.queries << " x " << attn::Tiles{}.keys << ".\n";
}

/// ## Speed and memory
///
/// The book's naive attention (chapters 01 and 03) against the tiled form, d = 64, one
/// thread, the median of 5 runs; GFLOP/s counts the \f$4 T^2 d\f$ FLOPs of the two matrix
/// products (half of them when causal), to compare with this core's matrix product rate
/// (OpenBLAS sgemm, which `make bench` measures). The last columns are the most memory each
/// computation allocated beyond its inputs, measured by counting every allocation
/// (allocation_count.hpp, which replaces the program's operator new): the
/// naive form holds the `[T, T]` matrix (several copies of it, in fact), the tiled form
/// only its output and one tile. `make bench` runs the same with Google Benchmark and
/// PyTorch in the same run, and prints the ratios to PyTorch.
///
/// \image html ch07_speed.svg "Attention time against T, naive and tiled"
void show_speed(const std::filesystem::path& figures) {
    attn::section(std::cout, "Speed and memory");
    std::cout << "    T  causal  naive (ms)  tiled (ms)  speed-up  tiled GFLOP/s  naive peak  "
                 "tiled peak\n";
    std::vector<double> sizes;
    std::vector<double> naive_full, tiled_full, naive_causal, tiled_causal;
    std::pair<double, double> full_4096, causal_4096;  // naive and tiled ms at T = 4096
    for (std::size_t T : {256, 512, 1024, 2048, 4096}) {
        attn::Rng rng(T);
        const Matrix q = attn::random_normal(T, 64, rng), k = attn::random_normal(T, 64, rng),
                     v = attn::random_normal(T, 64, rng);
        const attn::Mask causal = attn::causal_mask(T);
        sizes.push_back(static_cast<double>(T));
        for (const bool is_causal : {false, true}) {
            const std::size_t base = attn::bytes_in_use();
            attn::reset_peak_bytes();
            const double naive = milliseconds_of([&] {
                if (is_causal)
                    attn::masked_attention(q, k, v, causal);
                else
                    attn::scaled_dot_product_attention(q, k, v);
            });
            const std::size_t naive_peak = attn::peak_bytes() - base;
            attn::reset_peak_bytes();
            const double tiled =
                milliseconds_of([&] { attn::tiled_attention(q, k, v, is_causal); });
            const std::size_t tiled_peak = attn::peak_bytes() - base;
            (is_causal ? naive_causal : naive_full).push_back(naive);
            (is_causal ? tiled_causal : tiled_full).push_back(tiled);
            const double flops = 4.0 * static_cast<double>(T * T) * 64 * (is_causal ? 0.5 : 1.0);
            if (T == 4096) (is_causal ? causal_4096 : full_4096) = {naive, tiled};
            std::cout << std::setw(5) << T << std::setw(8) << (is_causal ? "yes" : "no")
                      << std::fixed << std::setprecision(2) << std::setw(12) << naive
                      << std::setw(12) << tiled << std::setw(9) << naive / tiled << "x"
                      << std::setprecision(1) << std::setw(15) << flops / tiled / 1e6
                      << std::setw(8) << static_cast<double>(naive_peak) / (1024 * 1024) << " MiB"
                      << std::setw(8) << static_cast<double>(tiled_peak) / (1024 * 1024) << " MiB"
                      << std::defaultfloat << '\n';
        }
    }
    attn::write_svg_line_plot(figures / "ch07_speed.svg", sizes,
                              {{"naive", naive_full},
                               {"tiled", tiled_full},
                               {"naive, causal", naive_causal},
                               {"tiled, causal", tiled_causal}},
                              "Chapter 07: attention, d = 64, one thread", "T (tokens)",
                              "milliseconds (log scale)", true);
    const auto compared = [](const char* name, double ratio) {
        std::ostringstream text;
        text << std::fixed << std::setprecision(1);
        if (ratio >= 1.0)
            text << ratio << "x as fast as";
        else
            text << 1.0 / ratio << "x slower than";
        return attn::quote(name, text.str());
    };
    std::cout << "\nAt T = 4096 the tiled form ran "
              << compared("tiled_vs_naive", full_4096.first / full_4096.second)
              << " the naive form, and "
              << compared("tiled_vs_naive_causal", causal_4096.first / causal_4096.second)
              << " it\ncausal; the [T, T] matrix of float32 scores alone is "
              << attn::quote("score_matrix_4096", size_text(4096 * 4096 * sizeof(float))) << ".\n";
    std::cout << "Figure written to " << (figures / "ch07_speed.svg").string() << '\n';
}

/// ## The program
///
/// The entry point first puts OpenBLAS on one thread, so that every timing, from the
/// first, uses one, then runs the sections above in order; attn::run_chapter() reads the
/// options (`--figures DIR`, `--help`) and reports errors.
constexpr const char* description =
    "Where attention's time goes, the online softmax, and tiled attention that never\n"
    "holds the [T, T] matrix, timed against the book's naive form.";

int main(int argc, char** argv) {
    attn::use_one_blas_thread();  // every timing of the chapter, from the first: one thread
    return attn::run_chapter(argc, argv, description, [](const std::filesystem::path& figures) {
        show_where_the_time_goes();
        show_online_softmax();
        show_tiling();
        show_vectorised_kernels();
        show_block_sizes();
        show_speed(figures);
    });
}

/// ## What comes next
///
/// Every piece is built: attention, its heads, the block, the cache, and now a fast
/// kernel. Chapter 08 puts them together to run a real trained model, and its decode step
/// is written as this chapter's kernels are: plain loops over floats that the compiler
/// turns into vector instructions.
