// answers: 5.2
// expect 5.2: failing
// mistake: the constant is sqrt(2) / pi (0.450) instead of sqrt(2 / pi) (0.798), so the tanh's argument is too small and every non-zero output is pulled towards x/2.
// part: the constant inside the tanh
#include "exercises.hpp"

#include <xtensor/xmath.hpp>

#include <cmath>
#include <numbers>

namespace attn::ex05 {

Matrix gelu_tanh(const Matrix& x) {
    check_shape("attn::ex05::gelu_tanh", "x", x, {any("rows"), any("cols")});
    const float c = std::sqrt(2.0f) / std::numbers::pi_v<float>;
    Matrix y = 0.5f * x * (1.0f + xt::tanh(c * (x + 0.044715f * x * x * x)));
    return y;
}

}  // namespace attn::ex05
