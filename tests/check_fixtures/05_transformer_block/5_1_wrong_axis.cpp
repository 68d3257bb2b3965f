// answers: 5.1
// expect 5.1: failing: normalised over the tokens
// Statistics of each column (one feature over all tokens) instead of each row.
#include "exercises.hpp"

#include <cmath>

namespace attn::ex05 {

Matrix layer_norm(const Matrix& x, const Vector& gain, const Vector& bias, float eps) {
    check_shape("attn::ex05::layer_norm", "x", x, {any("T"), any("d_model")});
    check_shape("attn::ex05::layer_norm", "gain", gain, {exactly("d_model", x.shape(1))});
    check_shape("attn::ex05::layer_norm", "bias", bias, {exactly("d_model", x.shape(1))});
    Matrix out = xt::zeros<float>(x.shape());
    for (std::size_t i = 0; i < x.shape(1); ++i) {
        auto column = xt::col(x, i);
        float mean = xt::mean(column)();
        float var = xt::mean(xt::square(column - mean))();
        xt::col(out, i) = (column - mean) / std::sqrt(var + eps) * gain(i) + bias(i);
    }
    return out;
}

}  // namespace attn::ex05
