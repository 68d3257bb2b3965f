// answers: 8.1
// expect 8.1: failing
// mistake: the frequency exponent is -i/d instead of -2i/d, so every pair after the first turns too fast
// part: frequency exponent
#include "exercises.hpp"

#include <cmath>
#include <string>

namespace attn::ex08 {

Matrix rope(const Matrix& x, std::size_t first_position, float theta) {
    constexpr const char* fn = "attn::ex08::rope";
    check_shape(fn, "x", x, {any("T"), any("d")});
    const std::size_t d = x.shape(1);
    if (d % 2 != 0)
        invalid_argument(fn, "RoPE rotates pairs: d must be even, got " + std::to_string(d));
    Matrix out = x;
    for (std::size_t t = 0; t < x.shape(0); ++t) {
        const double p = static_cast<double>(first_position + t);
        for (std::size_t i = 0; i < d / 2; ++i) {
            const double angle = p * std::pow(static_cast<double>(theta),
                                              -static_cast<double>(i) / static_cast<double>(d));
            const float cos = static_cast<float>(std::cos(angle)),
                        sin = static_cast<float>(std::sin(angle));
            const float a = x(t, 2 * i), b = x(t, 2 * i + 1);
            out(t, 2 * i) = a * cos - b * sin;
            out(t, 2 * i + 1) = a * sin + b * cos;
        }
    }
    return out;
}

}  // namespace attn::ex08
