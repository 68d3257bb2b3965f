// answers: 5.3
// expect 5.3: failing
// mistake: the squares are summed but not divided by d, so each row is divided by sqrt(sum x^2 + eps) (its length) instead of its root mean square; right only when d_model = 1
// part: the mean of the squares
#include "exercises.hpp"

#include <xtensor/xbuilder.hpp>

#include <cmath>

namespace attn::ex05 {

Matrix rms_norm(const Matrix& x, const Vector& gain, float eps) {
    constexpr const char* fn = "attn::ex05::rms_norm";
    check_shape(fn, "x", x, {any("T"), any("d_model")});
    const std::size_t T = x.shape(0), d = x.shape(1);
    check_shape(fn, "gain", gain, {exactly("d_model", d)});
    Matrix out = xt::zeros<float>({T, d});
    for (std::size_t t = 0; t < T; ++t) {
        double squares = 0.0;
        for (std::size_t i = 0; i < d; ++i) squares += static_cast<double>(x(t, i)) * x(t, i);
        const double r = std::sqrt(squares + eps);
        for (std::size_t i = 0; i < d; ++i) out(t, i) = static_cast<float>(gain(i) * x(t, i) / r);
    }
    return out;
}

}  // namespace attn::ex05
