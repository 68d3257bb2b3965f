#include "chapters/08_real_model/decode_kernels.hpp"

#include "chapters/01_single_head_attention/softmax_in_place.hpp"

#include <algorithm>
#include <cmath>

// Compiled with -O3 -march=native and reassociation allowed (chapter 07's flags): the sums
// below are then computed in vector registers, several partial sums at once.
namespace attn {

namespace {

// y never overlaps x or W: saying so (__restrict) lets the compiler vectorise the loop.
void matvec_rows(const float* __restrict x, const float* __restrict w, std::size_t in,
                 std::size_t out, float* __restrict y) {
    // Each pass over y adds `rows` rows of W at once: y is loaded and stored once per pass,
    // while `rows` streams of W are read side by side. Measured on this book's machine for
    // stories15M's matrices: 4 rows a pass read 20 GB/s, 8 rows 24, 12 rows 26, 16 rows 23.
    constexpr std::size_t rows = 12;
    std::fill(y, y + out, 0.0f);
    std::size_t i = 0;
    for (; i + rows <= in; i += rows) {
        const float* r = w + i * out;
        float a[rows];
        for (std::size_t k = 0; k < rows; ++k) a[k] = x[i + k];
        for (std::size_t j = 0; j < out; ++j) {
            float sum = y[j];
            for (std::size_t k = 0; k < rows; ++k) sum += a[k] * r[k * out + j];
            y[j] = sum;
        }
    }
    for (; i < in; ++i) {  // the rows left over, one at a time
        const float a = x[i];
        const float* r = w + i * out;
        for (std::size_t j = 0; j < out; ++j) y[j] += a * r[j];
    }
}

}  // namespace

void matvec(const float* x, const float* w, std::size_t in, std::size_t out, float* y) {
    matvec_rows(x, w, in, out, y);
}

void attend_one(const float* q, const float* keys, const float* values, std::size_t n,
                std::size_t d, float* out, float* scores) {
    const float scale = 1.0f / std::sqrt(static_cast<float>(d));
    for (std::size_t t = 0; t < n; ++t) {
        float s = 0.0f;
        for (std::size_t i = 0; i < d; ++i) s += q[i] * keys[t * d + i];
        scores[t] = s * scale;
    }
    softmax_in_place(scores, n);  // chapter 01's, compiled with the book's usual flags
    std::fill(out, out + d, 0.0f);
    for (std::size_t t = 0; t < n; ++t)
        for (std::size_t i = 0; i < d; ++i) out[i] += scores[t] * values[t * d + i];
}

}  // namespace attn
