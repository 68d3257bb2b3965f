// answers: 5.2
// expect 5.2: passing
// The hint followed literally: xt::tanh.
#include "exercises.hpp"

#include <cmath>
#include <numbers>

namespace attn::ex05 {

Matrix gelu_tanh(const Matrix& x) {
    check_shape("attn::ex05::gelu_tanh", "x", x, {any("rows"), any("cols")});
    const float c = std::sqrt(2.0f / std::numbers::pi_v<float>);
    return 0.5f * x * (1.0f + xt::tanh(c * (x + 0.044715f * x * x * x)));
}

}  // namespace attn::ex05
