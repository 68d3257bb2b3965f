// answers: 5.1
// expect 5.1: failing
// mistake: the variance divides the sum of squares by d_model - 1 (the unbiased estimate) instead of by d_model
// part: variance denominator
#include "exercises.hpp"

#include <xtensor/xbuilder.hpp>
#include <xtensor/xmath.hpp>
#include <xtensor/xview.hpp>

#include <cmath>

namespace attn::ex05 {

Matrix layer_norm(const Matrix& x, const Vector& gain, const Vector& bias, float eps) {
    constexpr const char* fn = "attn::ex05::layer_norm";
    check_shape(fn, "x", x, {any("T"), any("d_model")});
    check_shape(fn, "gain", gain, {exactly("d_model", x.shape(1))});
    check_shape(fn, "bias", bias, {exactly("d_model", x.shape(1))});
    Matrix out = xt::zeros<float>(x.shape());
    const float d = static_cast<float>(x.shape(1));
    for (std::size_t t = 0; t < x.shape(0); ++t) {
        const auto row = xt::row(x, t);
        const float mean = xt::mean(row)();
        const float variance = xt::sum(xt::square(row - mean))() / (d - 1.0f);
        xt::row(out, t) = (row - mean) / std::sqrt(variance + eps) * gain + bias;
    }
    return out;
}

}  // namespace attn::ex05
