// answers: 8.1
// expect 8.1: failing
// mistake: the exponent 2i/d is computed in integer arithmetic (std::size_t), so it is 0 for every pair and all pairs turn by the same angle p instead of p * theta^(-2i/d); right only for d = 2.
// part: the frequency of a pair (integer division in the exponent)
#include "exercises.hpp"

#include <cmath>
#include <string>

namespace attn::ex08 {

Matrix rope(const Matrix& x, std::size_t first_position, float theta) {
    constexpr const char* fn = "attn::ex08::rope";
    check_shape(fn, "x", x, {any("T"), any("d")});
    const std::size_t T = x.shape(0), d = x.shape(1);
    if (d % 2 != 0) invalid_argument(fn, "d = " + std::to_string(d) + " is odd: RoPE turns pairs");
    Matrix y = x;
    for (std::size_t t = 0; t < T; ++t) {
        const double p = static_cast<double>(first_position + t);
        for (std::size_t i = 0; i < d / 2; ++i) {
            const double angle = p / std::pow(static_cast<double>(theta), 2 * i / d);
            const float c = static_cast<float>(std::cos(angle));
            const float s = static_cast<float>(std::sin(angle));
            const float a = x(t, 2 * i), b = x(t, 2 * i + 1);
            y(t, 2 * i) = a * c - b * s;
            y(t, 2 * i + 1) = a * s + b * c;
        }
    }
    return y;
}

}  // namespace attn::ex08
