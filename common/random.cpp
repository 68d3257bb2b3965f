#include "common/random.hpp"

#include "common/shape.hpp"

#include <cmath>
#include <numbers>
#include <string>

namespace attn {

std::uint64_t Rng::next_bits() {
    // SplitMix64 (Steele, Lea, Flood 2014): tiny, fast, and well mixed for this purpose.
    std::uint64_t z = (state_ += 0x9E3779B97F4A7C15ULL);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
}

float Rng::uniform() {
    // The top 24 bits fill a float's mantissa exactly.
    return static_cast<float>(next_bits() >> 40) * (1.0f / 16777216.0f);
}

float Rng::normal() {
    // Box-Muller in double precision; 1 - u keeps the logarithm's argument above zero.
    const double u1 = 1.0 - static_cast<double>(next_bits() >> 11) * (1.0 / 9007199254740992.0);
    const double u2 = static_cast<double>(next_bits() >> 11) * (1.0 / 9007199254740992.0);
    return static_cast<float>(std::sqrt(-2.0 * std::log(u1)) *
                              std::cos(2.0 * std::numbers::pi * u2));
}

Matrix random_normal(std::size_t rows, std::size_t cols, Rng& rng, float stddev) {
    if (rows == 0 || cols == 0) {
        invalid_argument("attn::random_normal", "a matrix needs rows and cols >= 1, got [" +
                                                    std::to_string(rows) + ", " +
                                                    std::to_string(cols) + "]");
    }
    Matrix m = Matrix::from_shape({rows, cols});
    for (float& x : m) x = stddev * rng.normal();
    return m;
}

Vector random_normal(std::size_t size, Rng& rng, float stddev) {
    if (size == 0) invalid_argument("attn::random_normal", "a vector needs size >= 1, got [0]");
    Vector v = Vector::from_shape({size});
    for (float& x : v) x = stddev * rng.normal();
    return v;
}

}  // namespace attn
