#include "chapters/08_real_model/decode_kernels.hpp"

#include "chapters/01_single_head_attention/softmax_in_place.hpp"

#include <algorithm>
#include <cmath>
#include <cstring>

// Compiled with -O3 -march=native and reassociation allowed (chapter 07's flags): the sums
// below are then computed in vector registers, several partial sums at once.
namespace attn {

namespace {

// Eight floats in one vector register (GCC's vector extension: a ymm register with AVX).
typedef float v8 __attribute__((vector_size(32)));

v8 load8(const float* p) {
    v8 v;
    std::memcpy(&v, p, sizeof v);  // an unaligned load
    return v;
}

// y never overlaps x or W: saying so (__restrict) lets the compiler keep x in registers.
void matvec_rows(const float* __restrict w, const float* __restrict x, std::size_t out,
                 std::size_t in, float* __restrict y) {
    // One row after another, each from its first number to its last: W is read as one
    // stream, front to back, in the order it lies in memory, the pattern a processor's
    // prefetcher follows most easily. (Reading several rows side by side, so that each
    // number of x serves them all, saves loads of x; whether that or one stream is faster
    // from memory depends on the processor: `make bench` reports this kernel's speed against
    // the copy bandwidth.) Four sums of eight products each live in vector registers and do
    // not wait for each other.
    for (std::size_t o = 0; o < out; ++o) {
        const float* r = w + o * in;
        v8 s0 = {}, s1 = {}, s2 = {}, s3 = {};
        std::size_t i = 0;
        for (; i + 32 <= in; i += 32) {
            s0 += load8(r + i) * load8(x + i);
            s1 += load8(r + i + 8) * load8(x + i + 8);
            s2 += load8(r + i + 16) * load8(x + i + 16);
            s3 += load8(r + i + 24) * load8(x + i + 24);
        }
        for (; i + 8 <= in; i += 8) s0 += load8(r + i) * load8(x + i);
        const v8 s = (s0 + s1) + (s2 + s3);
        float sum = ((s[0] + s[1]) + (s[2] + s[3])) + ((s[4] + s[5]) + (s[6] + s[7]));
        for (; i < in; ++i) sum += r[i] * x[i];  // the last in % 8 numbers
        y[o] = sum;
    }
}

}  // namespace

void matvec(const float* w, const float* x, std::size_t out, std::size_t in, float* y) {
    matvec_rows(w, x, out, in, y);
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
