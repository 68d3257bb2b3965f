// answers: 8.1
// expect 8.1: failing
// mistake: the sin terms have the wrong signs (x'_2i = a cos + b sin, x'_2i+1 = -a sin + b cos), so every pair turns by -angle instead of +angle; right only at position 0
// part: the rotation's direction
#include "exercises.hpp"

#include <cmath>
#include <string>

namespace attn::ex08 {

Matrix rope(const Matrix& x, std::size_t first_position, float theta) {
    constexpr const char* fn = "attn::ex08::rope";
    check_shape(fn, "x", x, {any("T"), any("d")});
    const std::size_t T = x.shape(0), d = x.shape(1);
    if (d % 2 != 0)
        attn::invalid_argument(fn,
                               "d = " + std::to_string(d) + " is odd: RoPE turns pairs of numbers");
    Matrix out = x;
    for (std::size_t t = 0; t < T; ++t) {
        const double p = static_cast<double>(first_position + t);
        for (std::size_t i = 0; i < d / 2; ++i) {
            const double angle =
                p * std::pow(static_cast<double>(theta),
                             -2.0 * static_cast<double>(i) / static_cast<double>(d));
            const double c = std::cos(angle), s = std::sin(angle);
            const double a = x(t, 2 * i), b = x(t, 2 * i + 1);
            out(t, 2 * i) = static_cast<float>(a * c + b * s);
            out(t, 2 * i + 1) = static_cast<float>(-a * s + b * c);
        }
    }
    return out;
}

}  // namespace attn::ex08
