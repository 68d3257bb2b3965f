// answers: 8.1
// expect 8.1: failing: rotate_half
// Pairs x_i with x_(i + d/2), as Hugging Face's rotate_half layout does.
#include "exercises.hpp"

#include <cmath>

namespace attn::ex08 {

Matrix rope(const Matrix& x, std::size_t first_position, float theta) {
    check_shape("attn::ex08::rope", "x", x, {any("T"), any("d")});
    const std::size_t d = x.shape(1);
    if (d % 2 != 0) invalid_argument("attn::ex08::rope", "d must be even");
    Matrix out = x;
    for (std::size_t t = 0; t < x.shape(0); ++t) {
        for (std::size_t i = 0; i < d / 2; ++i) {
            double angle = (first_position + t) * std::pow(theta, -2.0 * i / d);
            float a = x(t, i), b = x(t, i + d / 2);
            out(t, i) = a * std::cos(angle) - b * std::sin(angle);
            out(t, i + d / 2) = a * std::sin(angle) + b * std::cos(angle);
        }
    }
    return out;
}

}  // namespace attn::ex08
