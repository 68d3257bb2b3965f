// answers: 5.1
// expect 5.1: failing: eps added outside the square root
// sqrt(var) + eps.
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
        float var = xt::mean(xt::square(row - mean))();
        xt::row(out, t) = (row - mean) / (std::sqrt(var) + eps) * gain + bias;
    }
    return out;
}

}  // namespace attn::ex05
