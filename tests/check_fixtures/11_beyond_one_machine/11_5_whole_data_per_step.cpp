// answers: 11.5
// expect 11.5: failing: the whole data sent at every step
// Sends all the bytes at each of the 2 (P - 1) steps instead of a P-th of them.
#include "exercises.hpp"

namespace attn::ex11 {

double ring_allreduce_bytes(double bytes, std::size_t ranks) {
    if (ranks == 0) invalid_argument("attn::ex11::ring_allreduce_bytes", "ranks = 0");
    const double P = static_cast<double>(ranks);
    return 2.0 * (P - 1.0) * bytes;
}

}  // namespace attn::ex11
