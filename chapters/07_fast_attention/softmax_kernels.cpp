#include "chapters/07_fast_attention/softmax_kernels.hpp"

#include <cmath>
#include <cstdint>
#include <cstring>

// Compiled with -O3 -march=native and float sums that may be reassociated (attn_fast_source),
// so it includes no header beyond the three above: an inline function of a library (xtensor's,
// say) compiled here with these flags and elsewhere without them would be two different
// functions under one name, and the linker keeps either.
namespace attn {

namespace {
constexpr float minus_inf = -INFINITY;

// The body of fast_exp(), inlined into exp_row() so that its loop vectorises.
inline float exp_inline(float x) {
    // e^x = 2^n e^r with n = round(x / ln 2) and |r| <= ln(2) / 2; r is computed in two
    // steps (ln 2 split into a part exact in float and a small rest, Cody and Waite), e^r by
    // Cephes's polynomial, and 2^n built in the float's exponent bits. No branches, no
    // library call: a loop of these becomes vector instructions.
    const float clamped = x < -87.0f ? -87.0f : (x > 88.0f ? 88.0f : x);
    const float n = std::rint(clamped * 1.44269504088896341f);  // one vroundps
    // fma keeps the two steps apart: written as x - n c1 - n c2, the reassociation this file
    // allows for the sums would merge them into x - n (c1 + c2) and lose the precision.
    float r = std::fma(-n, 0.693359375f, clamped);
    r = std::fma(-n, -2.12194440e-4f, r);
    float p = 1.9875691500e-4f;
    p = p * r + 1.3981999507e-3f;
    p = p * r + 8.3334519073e-3f;
    p = p * r + 4.1665795894e-2f;
    p = p * r + 1.6666665459e-1f;
    p = p * r + 5.0000001201e-1f;
    const float e_r = p * r * r + r + 1.0f;
    // n is in [-126, 127] for every x but NaN. Converting NaN to an integer is undefined
    // behaviour, so NaN becomes -127 first (one vmaxps): 2^-127 is built as 0, and the
    // result is NaN all the same, through r.
    const float n_defined = n > -127.0f ? n : -127.0f;
    const std::int32_t exponent_bits = (static_cast<std::int32_t>(n_defined) + 127) << 23;
    float scale;  // 2^n: sign 0, exponent n + 127, fraction 0
    std::memcpy(&scale, &exponent_bits, sizeof scale);
    return x < -87.0f ? 0.0f : e_r * scale;
}
}  // namespace

float fast_exp(float x) {
    return exp_inline(x);
}

// 16 running maxima, one per lane of a vector register: each step is an element-wise
// `a > b ? a : b` (one vmaxps, which computes exactly that, NaN included), and the order in
// which the lanes are combined is written here, so the compiler needs no licence to reorder.
float row_maximum(const float* s, std::size_t n) {
    constexpr std::size_t lanes = 16;
    float lane[lanes];
    for (std::size_t l = 0; l < lanes; ++l) lane[l] = minus_inf;
    std::size_t j = 0;
    for (; j + lanes <= n; j += lanes) {
        // Kept a loop: GCC vectorises it, while unrolled it becomes 16 scalar chains that GCC
        // does not gather back into one register (GCC 12, -fopt-info-vec).
#pragma GCC unroll 1
        for (std::size_t l = 0; l < lanes; ++l) lane[l] = s[j + l] > lane[l] ? s[j + l] : lane[l];
    }
    float m = minus_inf;
    for (; j < n; ++j) m = s[j] > m ? s[j] : m;
    for (std::size_t l = 0; l < lanes; ++l) m = lane[l] > m ? lane[l] : m;
    return m;
}

// One running maximum: each step waits for the one before, and GCC vectorises the chain only
// under -ffinite-math-only.
float plain_row_maximum(const float* s, std::size_t n) {
    float m = minus_inf;
    for (std::size_t j = 0; j < n; ++j) m = s[j] > m ? s[j] : m;
    return m;
}

float exp_row(float* s, std::size_t n, float m) {
    float sum = 0.0f;
    for (std::size_t j = 0; j < n; ++j) {
        s[j] = exp_inline(s[j] - m);
        sum += s[j];  // in 8 or 16 partial sums: the reassociation this file allows
    }
    return sum;
}

float plain_exp_row(float* s, std::size_t n, float m) {
    float sum = 0.0f;
    for (std::size_t j = 0; j < n; ++j) {
        s[j] = std::exp(s[j] - m);
        sum += s[j];
    }
    return sum;
}

void scale_row(float* a, std::size_t n, float c) {
    for (std::size_t j = 0; j < n; ++j) a[j] *= c;
}

}  // namespace attn
