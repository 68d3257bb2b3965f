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

// One panel (16 outputs) against C rows of x: 2 * C vector sums; `outputs` of the 16 are
// real rows of W.
template <std::size_t C>
void panel_rows(const float* __restrict panel, const float* __restrict x, std::size_t in,
                std::size_t outputs, float* __restrict y, std::size_t out) {
    v8 low[C] = {}, high[C] = {};
    for (std::size_t i = 0; i < in; ++i) {
        // The next panel's numbers, 16 inputs ahead: asked of memory before they are needed.
        __builtin_prefetch(panel + 16 * (in + i));
        const v8 p0 = load(panel + 16 * i), p1 = load(panel + 16 * i + 8);
        for (std::size_t c = 0; c < C; ++c) {
            const float xi = x[c * in + i];  // broadcast to all 16 outputs
            low[c] += p0 * xi;
            high[c] += p1 * xi;
        }
    }
    for (std::size_t c = 0; c < C; ++c) {
        float sums[16];
        std::memcpy(sums, &low[c], sizeof low[c]);
        std::memcpy(sums + 8, &high[c], sizeof high[c]);
        std::memcpy(y + c * out, sums, outputs * sizeof(float));
    }
}

}  // namespace

float sum_floats(const float* x, std::size_t n) {
    v8 a = {}, b = {}, c = {}, d = {};
    std::size_t i = 0;
    for (; i + 32 <= n; i += 32) {
        a += load(x + i);
        b += load(x + i + 8);
        c += load(x + i + 16);
        d += load(x + i + 24);
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
    const std::size_t in = w.in, out = w.out;
    for (std::size_t o = 0; o < out; o += 16) {
        const float* panel = w.panels.data() + (o / 16) * in * 16;
        const std::size_t outputs = std::min<std::size_t>(16, out - o);
        std::size_t b = 0;
        for (; b + 6 <= batch; b += 6)
            panel_rows<6>(panel, x + b * in, in, outputs, y + b * out + o, out);
        switch (batch - b) {  // the rows of x left over
            case 5:
                panel_rows<5>(panel, x + b * in, in, outputs, y + b * out + o, out);
                break;
            case 4:
                panel_rows<4>(panel, x + b * in, in, outputs, y + b * out + o, out);
                break;
            case 3:
                panel_rows<3>(panel, x + b * in, in, outputs, y + b * out + o, out);
                break;
            case 2:
                panel_rows<2>(panel, x + b * in, in, outputs, y + b * out + o, out);
                break;
            case 1:
                panel_rows<1>(panel, x + b * in, in, outputs, y + b * out + o, out);
                break;
            default:
                break;
        }
    }
}

}  // namespace attn
