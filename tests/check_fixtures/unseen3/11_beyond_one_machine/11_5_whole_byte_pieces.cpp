// answers: 11.5
// expect 11.5: failing
// mistake: rounds each of the P pieces up to a whole number of bytes (the last piece padded), which is exact when P divides bytes (the 1 GB on 4 ranks example) but too large otherwise, e.g. 10 bytes on 3 ranks gives 16 instead of 13.333.
// part: the size of one piece
#include "exercises.hpp"

#include <cmath>

namespace attn::ex11 {

double ring_allreduce_bytes(double bytes, std::size_t ranks) {
    if (ranks == 0) invalid_argument("ring_allreduce_bytes", "ranks = 0");
    const double P = static_cast<double>(ranks);
    // A piece is a whole number of bytes: round up, the last piece is padded.
    const double piece = std::ceil(bytes / P);
    return 2.0 * (P - 1.0) * piece;
}

}  // namespace attn::ex11
