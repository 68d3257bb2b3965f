// answers: 5.1
// expect 5.1: failing: the unbiased variance
// Divides the squared deviations by d_model - 1.
#include "exercises.hpp"

#include <cmath>

namespace attn::ex05 {

Matrix layer_norm(const Matrix& x, const Vector& gain, const Vector& bias, float eps) {
    check_shape("attn::ex05::layer_norm", "x", x, {any("T"), any("d_model")});
    check_shape("attn::ex05::layer_norm", "gain", gain, {exactly("d_model", x.shape(1))});
    check_shape("attn::ex05::layer_norm", "bias", bias, {exactly("d_model", x.shape(1))});
    Matrix out = xt::zeros<float>(x.shape());
    for (std::size_t t = 0; t < x.shape(0); ++t) {
        auto row = xt::row(x, t);
        float mean = xt::mean(row)();
        float var = xt::sum(xt::square(row - mean))() / static_cast<float>(x.shape(1) - 1);
        xt::row(out, t) = (row - mean) / std::sqrt(var + eps) * gain + bias;
    }
    return out;
}

}  // namespace attn::ex05
