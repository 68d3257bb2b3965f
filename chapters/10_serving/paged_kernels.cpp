#include "chapters/10_serving/paged_kernels.hpp"

#include "chapters/01_single_head_attention/softmax_in_place.hpp"
#include "chapters/10_serving/paged_cache.hpp"

#include <algorithm>
#include <array>
#include <cassert>
#include <cmath>
#include <cstring>
#include <utility>

// Compiled with -O3 -march=native and reassociation allowed (attn_fast_source): the dot
// products below run in vector registers.
namespace attn {

namespace {

// The rows of one block: block_size of them, or fewer in the sequence's last block. `row`
// gets the block's first row in the pool (in rows), the position of that row in the
// sequence, and how many rows to read.
template <typename Row>
void for_each_block(const PagedLayout& at, const std::size_t* table, std::size_t n, Row row) {
    for (std::size_t i = 0, t = 0; t < n; ++i) {
        const std::size_t rows = std::min(at.block_size, n - t);
        assert(table[i] < at.n_blocks);  // attend_paged() checked the table
        row(table[i] * at.block_stride, t, rows);
        t += rows;
    }
}

}  // namespace

void attend_paged(const float* q, const Float32Head& h, const std::size_t* table, std::size_t n,
                  float* out, float* scores) {
    // Out of line, in a file compiled with the usual flags: one pass over the n / block_size
    // entries, before the kernel reads a row through them.
    const PagedLayout& at = h.layout;
    check_block_table(table, n, at.block_size, at.n_blocks, "attn::attend_paged");
    const std::size_t d = at.d;
    const float scale = 1.0f / std::sqrt(static_cast<float>(d));
    std::fill(out, out + d, 0.0f);
    for_each_block(at, table, n, [&](std::size_t first, std::size_t t, std::size_t rows) {
        const float* k = h.keys + first * d;
        std::size_t r = 0;
        // Four rows at a time: four sums that do not wait for each other.
        for (; r + 4 <= rows; r += 4) {
            const float *k0 = k + r * d, *k1 = k0 + d, *k2 = k1 + d, *k3 = k2 + d;
            float s0 = 0.0f, s1 = 0.0f, s2 = 0.0f, s3 = 0.0f;
            for (std::size_t i = 0; i < d; ++i) {
                s0 += q[i] * k0[i];
                s1 += q[i] * k1[i];
                s2 += q[i] * k2[i];
                s3 += q[i] * k3[i];
            }
            scores[t + r] = s0 * scale;
            scores[t + r + 1] = s1 * scale;
            scores[t + r + 2] = s2 * scale;
            scores[t + r + 3] = s3 * scale;
        }
        for (; r < rows; ++r) {
            float s = 0.0f;
            for (std::size_t i = 0; i < d; ++i) s += q[i] * k[r * d + i];
            scores[t + r] = s * scale;
        }
    });
    softmax_in_place(scores, n);  // chapter 01's
    for_each_block(at, table, n, [&](std::size_t first, std::size_t t, std::size_t rows) {
        const float* v = h.values + first * d;
        const float* p = scores + t;
        std::size_t r = 0;
        // Four rows into `out` at once: a quarter of the loads and stores of `out`.
        for (; r + 4 <= rows; r += 4) {
            const float *v0 = v + r * d, *v1 = v0 + d, *v2 = v1 + d, *v3 = v2 + d;
            for (std::size_t i = 0; i < d; ++i)
                out[i] += p[r] * v0[i] + p[r + 1] * v1[i] + p[r + 2] * v2[i] + p[r + 3] * v3[i];
        }
        for (; r < rows; ++r)
            for (std::size_t i = 0; i < d; ++i) out[i] += p[r] * v[r * d + i];
    });
}

void attend_paged(const float* q, const Int8Head& h, const std::size_t* table, std::size_t n,
                  float* out, float* scores) {
    const PagedLayout& at = h.layout;
    check_block_table(table, n, at.block_size, at.n_blocks, "attn::attend_paged");
    const std::size_t d = at.d;
    const float scale = 1.0f / std::sqrt(static_cast<float>(d));
    std::fill(out, out + d, 0.0f);
    for_each_block(at, table, n, [&](std::size_t first, std::size_t t, std::size_t rows) {
        const std::int8_t* k = h.keys + first * d;
        const float* ks = h.key_scales + first;
        for (std::size_t r = 0; r < rows; ++r) {
            float s = 0.0f;
            for (std::size_t i = 0; i < d; ++i) s += q[i] * static_cast<float>(k[r * d + i]);
            scores[t + r] = s * ks[r] * scale;
        }
    });
    softmax_in_place(scores, n);
    for_each_block(at, table, n, [&](std::size_t first, std::size_t t, std::size_t rows) {
        const std::int8_t* v = h.values + first * d;
        const float* vs = h.value_scales + first;
        for (std::size_t r = 0; r < rows; ++r) {
            const float p = scores[t + r] * vs[r];
            for (std::size_t i = 0; i < d; ++i) out[i] += p * static_cast<float>(v[r * d + i]);
        }
    });
}

namespace {

// Eight floats in one vector register (GCC's vector extension: AVX's ymm registers here).
typedef float v8 __attribute__((vector_size(32)));
template <typename V>
V load(const float* p) {
    V v;
    std::memcpy(&v, p, sizeof v);  // an unaligned load
    return v;
}

// Sixteen floats, one panel row: one zmm register where the processor has AVX-512. Without
// it, GCC would keep a 64-byte vector in memory rather than split it over registers (every
// sum of the kernel a store and a load), so there it is two 8-float vectors, two ymm
// registers, with the two operations the kernel needs.
#ifdef __AVX512F__
typedef float v16 __attribute__((vector_size(64)));
v16 load16(const float* p) {
    return load<v16>(p);
}
#else
struct v16 {
    v8 low, high;
};
v16 load16(const float* p) {
    return {load<v8>(p), load<v8>(p + 8)};
}
v16 operator*(const v16& a, float b) {
    return {a.low * b, a.high * b};
}
v16& operator+=(v16& a, const v16& b) {
    a.low += b.low;
    a.high += b.high;
    return a;
}
#endif
static_assert(sizeof(v16) == 16 * sizeof(float));

// How much of W and x one pass keeps in registers: P panels (16 P outputs) by up to
// max_rows rows of x, P * max_rows sums, with room left for P numbers of W and a broadcast.
#ifdef __AVX512F__
constexpr std::size_t panels_per_pass = 2, max_rows = 12;  // 24 of 32 zmm registers
#else
constexpr std::size_t panels_per_pass = 1, max_rows = 6;  // 12 of 16 ymm registers
#endif

// P panels (16 P outputs) against C rows of x: P * C vector sums, each number of W loaded
// once for the C rows and each number of x broadcast to 16 outputs. `outputs` of the 16 P
// are real rows of W.
template <std::size_t P, std::size_t C>
void pass(const float* __restrict panel, const float* __restrict x, std::size_t in,
          std::size_t outputs, float* __restrict y, std::size_t out) {
    v16 sum[P][C] = {};
    for (std::size_t i = 0; i < in; ++i) {
        v16 w[P];
        for (std::size_t p = 0; p < P; ++p) {
            // The next panels' numbers: asked of memory before they are needed.
            __builtin_prefetch(panel + 16 * (p * in + P * in + i));
            w[p] = load16(panel + 16 * (p * in + i));
        }
        for (std::size_t c = 0; c < C; ++c) {
            const float xi = x[c * in + i];
            for (std::size_t p = 0; p < P; ++p) sum[p][c] += w[p] * xi;
        }
    }
    for (std::size_t p = 0; p < P; ++p) {
        const std::size_t n = std::min<std::size_t>(16, outputs - std::min(outputs, 16 * p));
        for (std::size_t c = 0; c < C; ++c) {
            float sums[16];
            std::memcpy(sums, &sum[p][c], sizeof sums);
            std::memcpy(y + c * out + 16 * p, sums, n * sizeof(float));
        }
    }
}

// pass<P, 1> ... pass<P, max_rows>, chosen by the number of rows at run time.
using Pass = void (*)(const float*, const float*, std::size_t, std::size_t, float*, std::size_t);
template <std::size_t P, std::size_t... C>
constexpr std::array<Pass, sizeof...(C)> passes(std::index_sequence<C...>) {
    return {&pass<P, C + 1>...};
}
constexpr auto wide = passes<panels_per_pass>(std::make_index_sequence<max_rows>{});
constexpr auto narrow = passes<1>(std::make_index_sequence<max_rows>{});

}  // namespace

float sum_floats(const float* x, std::size_t n) {
    v8 a = {}, b = {}, c = {}, d = {};
    std::size_t i = 0;
    for (; i + 32 <= n; i += 32) {
        a += load<v8>(x + i);
        b += load<v8>(x + i + 8);
        c += load<v8>(x + i + 16);
        d += load<v8>(x + i + 24);
    }
    const v8 all = a + b + c + d;
    float total = 0.0f;
    for (std::size_t k = 0; k < 8; ++k) total += all[k];
    for (; i < n; ++i) total += x[i];
    return total;
}

PackedWeight pack_weight(const float* w, std::size_t out, std::size_t in) {
    PackedWeight p;
    p.out = out;
    p.in = in;
    const std::size_t panels = (out + 15) / 16;
    p.panels.assign(panels * in * 16, 0.0f);
    for (std::size_t o = 0; o < out; ++o)
        for (std::size_t i = 0; i < in; ++i)
            p.panels[((o / 16) * in + i) * 16 + o % 16] = w[o * in + i];
    return p;
}

void matmul_packed(const PackedWeight& w, const float* x, std::size_t batch, float* y) {
    if (batch == 0) return;
    const std::size_t in = w.in, out = w.out;
    // The rows in passes of equal size: 16 rows are 2 passes of 8, not 12 and a thin 4.
    const std::size_t n_passes = (batch + max_rows - 1) / max_rows;
    const std::size_t rows = (batch + n_passes - 1) / n_passes;
    for (std::size_t o = 0; o < out;) {
        const float* panel = w.panels.data() + (o / 16) * in * 16;
        const bool whole = batch > 1 && o + 16 * panels_per_pass <= out;
        const std::size_t outputs =
            whole ? 16 * panels_per_pass : std::min<std::size_t>(16, out - o);
        for (std::size_t b = 0; b < batch; b += rows) {
            const std::size_t n = std::min(rows, batch - b);
            (whole ? wide : narrow)[n - 1](panel, x + b * in, in, outputs, y + b * out + o, out);
        }
        o += whole ? 16 * panels_per_pass : 16;
    }
}

}  // namespace attn
