// answers: 8.1
// expect 8.1: failing: it is at first_position + t
// Forgets first_position: row t is rotated for position t.
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
            double angle = t * std::pow(theta, -2.0 * i / d);
            float a = x(t, 2 * i), b = x(t, 2 * i + 1);
            out(t, 2 * i) = a * std::cos(angle) - b * std::sin(angle);
            out(t, 2 * i + 1) = a * std::sin(angle) + b * std::cos(angle);
        }
    }
    return out;
}

}  // namespace attn::ex08
