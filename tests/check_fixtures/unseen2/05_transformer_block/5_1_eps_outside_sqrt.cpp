// answers: 5.1
// expect 5.1: failing
// mistake: eps is added after the square root, (x - mean) / (sqrt(var) + eps), instead of inside it, sqrt(var + eps); right when eps = 0
// part: where eps goes
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
    Matrix out = xt::zeros<float>({T, d});
    for (std::size_t t = 0; t < T; ++t) {
        double mean = 0.0;
        for (std::size_t i = 0; i < d; ++i) mean += x(t, i);
        mean /= static_cast<double>(d);
        double variance = 0.0;
        for (std::size_t i = 0; i < d; ++i) variance += (x(t, i) - mean) * (x(t, i) - mean);
        variance /= static_cast<double>(d);
        const double denominator = std::sqrt(variance) + eps;
        for (std::size_t i = 0; i < d; ++i)
            out(t, i) = static_cast<float>(gain(i) * (x(t, i) - mean) / denominator + bias(i));
    }
    return out;
}

}  // namespace attn::ex05
