#include "chapters/10_serving/paged_kernels.hpp"

#include "chapters/01_single_head_attention/softmax_in_place.hpp"

#include <algorithm>
#include <cmath>
#include <cstring>

// Compiled with -O3 -march=native and reassociation allowed (attn_fast_source): the dot
// products below run in vector registers.
namespace attn {

namespace {

// The rows of one block: block_size of them, or fewer in the sequence's last block.
template <typename Row>
void for_each_block(const PagedHead& h, const std::size_t* table, std::size_t n, Row row) {
    for (std::size_t i = 0, t = 0; t < n; ++i) {
        const std::size_t rows = std::min(h.block_size, n - t);
        row(table[i], t, rows);
        t += rows;
    }
}

}  // namespace

void attend_paged(const float* q, const PagedHead& h, const std::size_t* table, std::size_t n,
                  float* out, float* scores) {
    const std::size_t d = h.d;
    const float scale = 1.0f / std::sqrt(static_cast<float>(d));
    std::fill(out, out + d, 0.0f);
    if (h.keys) {
        for_each_block(h, table, n, [&](std::size_t b, std::size_t t, std::size_t rows) {
            const float* k = h.keys + b * h.block_stride;
            for (std::size_t r = 0; r < rows; ++r) {
                float s = 0.0f;
                for (std::size_t i = 0; i < d; ++i) s += q[i] * k[r * d + i];
                scores[t + r] = s * scale;
            }
        });
        softmax_in_place(scores, n);  // chapter 01's
        for_each_block(h, table, n, [&](std::size_t b, std::size_t t, std::size_t rows) {
            const float* v = h.values + b * h.block_stride;
            for (std::size_t r = 0; r < rows; ++r)
                for (std::size_t i = 0; i < d; ++i) out[i] += scores[t + r] * v[r * d + i];
        });
        return;
    }
    for_each_block(h, table, n, [&](std::size_t b, std::size_t t, std::size_t rows) {
        const std::int8_t* k = h.keys_q + b * h.block_stride;
        const float* ks = h.key_scales + b * h.scale_stride;
        for (std::size_t r = 0; r < rows; ++r) {
            float s = 0.0f;
            for (std::size_t i = 0; i < d; ++i) s += q[i] * static_cast<float>(k[r * d + i]);
            scores[t + r] = s * ks[r] * scale;
        }
    });
    softmax_in_place(scores, n);
    for_each_block(h, table, n, [&](std::size_t b, std::size_t t, std::size_t rows) {
        const std::int8_t* v = h.values_q + b * h.block_stride;
        const float* vs = h.value_scales + b * h.scale_stride;
        for (std::size_t r = 0; r < rows; ++r) {
            const float p = scores[t + r] * vs[r];
            for (std::size_t i = 0; i < d; ++i) out[i] += p * static_cast<float>(v[r * d + i]);
        }
    });
}

namespace {

// Eight floats in one vector register (GCC's vector extension: AVX's ymm registers here).
typedef float v8 __attribute__((vector_size(32)));

v8 load(const float* p) {
    v8 v;
    std::memcpy(&v, p, sizeof v);  // an unaligned load
    return v;
}

// R rows of W against C rows of x: R * C dot products of length `in`, eight products at a
// time in R * C vector registers, added up at the end.
template <std::size_t R, std::size_t C>
void tile(const float* __restrict w, const float* __restrict x, std::size_t in, std::size_t out,
          float* __restrict y) {
    v8 sum[R][C] = {};
    std::size_t i = 0;
    for (; i + 8 <= in; i += 8) {
        v8 wr[R];
        for (std::size_t r = 0; r < R; ++r) wr[r] = load(w + r * in + i);
        for (std::size_t c = 0; c < C; ++c) {
            const v8 xc = load(x + c * in + i);
            for (std::size_t r = 0; r < R; ++r) sum[r][c] += wr[r] * xc;
        }
    }
    for (std::size_t r = 0; r < R; ++r) {
        for (std::size_t c = 0; c < C; ++c) {
            float total = 0.0f;
            for (std::size_t k = 0; k < 8; ++k) total += sum[r][c][k];
            for (std::size_t j = i; j < in; ++j) total += w[r * in + j] * x[c * in + j];
            y[c * out + r] = total;
        }
    }
}

// Rows of W (R at a time) against every row of x, three rows of x at a time: 12 sums, as
// many as the 16 vector registers hold beside the four rows of W and one of x.
template <std::size_t R>
void rows_of_w(const float* w, const float* x, std::size_t batch, std::size_t out, std::size_t in,
               float* y) {
    std::size_t b = 0;
    for (; b + 3 <= batch; b += 3) tile<R, 3>(w, x + b * in, in, out, y + b * out);
    if (batch - b == 2) tile<R, 2>(w, x + b * in, in, out, y + b * out);
    if (batch - b == 1) tile<R, 1>(w, x + b * in, in, out, y + b * out);
}

}  // namespace

void matmul_thin(const float* w, const float* x, std::size_t batch, std::size_t out, std::size_t in,
                 float* y) {
    std::size_t o = 0;
    for (; o + 4 <= out; o += 4) rows_of_w<4>(w + o * in, x, batch, out, in, y + o);
    for (; o < out; ++o) rows_of_w<1>(w + o * in, x, batch, out, in, y + o);
}

}  // namespace attn
