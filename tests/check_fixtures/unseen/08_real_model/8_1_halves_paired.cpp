// answers: 8.1
// expect 8.1: failing
// mistake: the rotated pairs are (i, i + d/2), the two halves as in GPT-NeoX, instead of the neighbours (2i, 2i+1) that Llama's layout uses
// part: which elements form a pair
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
            const double angle =
                p * std::pow(static_cast<double>(theta),
                             -2.0 * static_cast<double>(i) / static_cast<double>(d));
            const float cos = static_cast<float>(std::cos(angle)),
                        sin = static_cast<float>(std::sin(angle));
            const std::size_t half = d / 2;
            const float a = x(t, i), b = x(t, i + half);
            out(t, i) = a * cos - b * sin;
            out(t, i + half) = a * sin + b * cos;
        }
    }
    return out;
}

}  // namespace attn::ex08
