// answers: 5.3
// expect 5.3: failing
// mistake: the gain is applied before the root mean square is taken, so the RMS is that of gain * x and the result is gain * x / rms(gain * x): right when every gain is 1, wrong otherwise.
// part: where the gain is applied
#include "exercises.hpp"

#include <xtensor/xbuilder.hpp>

#include <cmath>

namespace attn::ex05 {

Matrix rms_norm(const Matrix& x, const Vector& gain, float eps) {
    constexpr const char* fn = "attn::ex05::rms_norm";
    check_shape(fn, "x", x, {any("T"), any("d_model")});
    const std::size_t T = x.shape(0), d = x.shape(1);
    check_shape(fn, "gain", gain, {exactly("d_model", d)});
    Matrix y = xt::zeros<float>({T, d});
    for (std::size_t t = 0; t < T; ++t) {
        float ss = 0.0f;
        for (std::size_t i = 0; i < d; ++i) {
            const float g = gain(i) * x(t, i);
            ss += g * g;
        }
        const float r = std::sqrt(ss / static_cast<float>(d) + eps);
        for (std::size_t i = 0; i < d; ++i) y(t, i) = gain(i) * x(t, i) / r;
    }
    return y;
}

}  // namespace attn::ex05
