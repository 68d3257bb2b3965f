// answers: 5.1
// expect 5.1: failing
// mistake: each feature (column) is normalised over the tokens instead of each token (row) over its features: mean and variance are taken along the wrong axis
// part: normalisation axis
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
    for (std::size_t j = 0; j < x.shape(1); ++j) {
        const auto column = xt::col(x, j);
        const float mean = xt::mean(column)();
        const float variance = xt::mean(xt::square(column - mean))();
        xt::col(out, j) = (column - mean) / std::sqrt(variance + eps) * gain(j) + bias(j);
    }
    return out;
}

}  // namespace attn::ex05
