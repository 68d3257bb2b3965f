// answers: 11.5
// expect 11.5: passing
// The hint followed literally: 2 (P - 1) steps of one piece, bytes / P, each.
#include "exercises.hpp"

namespace attn::ex11 {

double ring_allreduce_bytes(double bytes, std::size_t ranks) {
    if (ranks == 0) invalid_argument("attn::ex11::ring_allreduce_bytes", "ranks = 0");
    const double P = static_cast<double>(ranks);
    const double steps = 2.0 * (P - 1.0);  // reduce-scatter, then all-gather
    const double piece = bytes / P;
    return steps * piece;
}

}  // namespace attn::ex11
