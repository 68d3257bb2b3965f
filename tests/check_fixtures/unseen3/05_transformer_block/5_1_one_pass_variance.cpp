// answers: 5.1
// expect 5.1: failing
// mistake: the variance is computed in one pass in float as mean(x^2) - mean^2, which cancels catastrophically when a row's mean is large next to its spread (e.g. 1000 + small noise): the variance comes out wrong or negative, giving wrong values or NaN.
// part: the variance (one-pass formula)
#include "exercises.hpp"

#include <xtensor/xbuilder.hpp>

#include <cmath>

namespace attn::ex05 {

Matrix layer_norm(const Matrix& x, const Vector& gain, const Vector& bias, float eps) {
    constexpr const char* fn = "attn::ex05::layer_norm";
    check_shape(fn, "x", x, {any("T"), any("d_model")});
    const std::size_t T = x.shape(0), d = x.shape(1);
    check_shape(fn, "gain", gain, {exactly("d_model", d)});
    check_shape(fn, "bias", bias, {exactly("d_model", d)});
    Matrix y = xt::zeros<float>({T, d});
    for (std::size_t t = 0; t < T; ++t) {
        float sum = 0.0f, sum_sq = 0.0f;
        for (std::size_t i = 0; i < d; ++i) {
            sum += x(t, i);
            sum_sq += x(t, i) * x(t, i);
        }
        const float mean = sum / static_cast<float>(d);
        const float var = sum_sq / static_cast<float>(d) - mean * mean;
        const float inv = 1.0f / std::sqrt(var + eps);
        for (std::size_t i = 0; i < d; ++i) y(t, i) = gain(i) * (x(t, i) - mean) * inv + bias(i);
    }
    return y;
}

}  // namespace attn::ex05
