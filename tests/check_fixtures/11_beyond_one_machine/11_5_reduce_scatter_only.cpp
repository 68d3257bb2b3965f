// answers: 11.5
// expect 11.5: failing: counted the reduce-scatter only
// Counts the P - 1 steps of the reduce-scatter and forgets the all-gather.
#include "exercises.hpp"

namespace attn::ex11 {

double ring_allreduce_bytes(double bytes, std::size_t ranks) {
    if (ranks == 0) invalid_argument("attn::ex11::ring_allreduce_bytes", "ranks = 0");
    const double P = static_cast<double>(ranks);
    return (P - 1.0) / P * bytes;
}

}  // namespace attn::ex11
