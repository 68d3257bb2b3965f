/// \file
/// \brief Seeded random numbers that are the same on every run, compiler and machine.
///
/// The standard library's distributions may differ between implementations, so the book
/// uses its own: SplitMix64 for the bits, Box-Muller for normal numbers. A chapter that says
/// "seed 42" prints the same numbers for every reader.
#pragma once

#include "common/tensor.hpp"

#include <cstddef>
#include <cstdint>

namespace attn {

/// A small deterministic random number generator.
class Rng {
public:
    /// \param seed any number; the same seed gives the same sequence everywhere.
    explicit Rng(std::uint64_t seed) : state_(seed) {}

    /// The next 64 random bits.
    std::uint64_t next_bits();
    /// A float uniform in [0, 1).
    float uniform();
    /// A float from the standard normal distribution (mean 0, standard deviation 1).
    float normal();

private:
    std::uint64_t state_;
};

/// A `[rows, cols]` matrix of independent normal numbers with the given standard deviation.
/// Throws std::invalid_argument when rows or cols is 0.
Matrix random_normal(std::size_t rows, std::size_t cols, Rng& rng, float stddev = 1.0f);

/// A `[size]` vector of independent normal numbers with the given standard deviation.
/// Throws std::invalid_argument when size is 0.
Vector random_normal(std::size_t size, Rng& rng, float stddev = 1.0f);

}  // namespace attn
