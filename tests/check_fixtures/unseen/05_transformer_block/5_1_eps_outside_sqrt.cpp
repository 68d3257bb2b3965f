// answers: 5.1
// expect 5.1: failing
// mistake: eps is added after the square root, (x - mean) / (sqrt(var) + eps), instead of inside it, sqrt(var + eps); it only shows when the variance is small next to eps
// part: eps placement
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
    for (std::size_t t = 0; t < x.shape(0); ++t) {
        const auto row = xt::row(x, t);
        const float mean = xt::mean(row)();
        const float variance = xt::mean(xt::square(row - mean))();
        xt::row(out, t) = (row - mean) / (std::sqrt(variance) + eps) * gain + bias;
    }
    return out;
}

}  // namespace attn::ex05
