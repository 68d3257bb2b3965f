// answers: 11.5
// expect 11.5: failing: 2 times the data whatever P
// Twice the data, whatever the number of ranks.
#include "exercises.hpp"

namespace attn::ex11 {

double ring_allreduce_bytes(double bytes, std::size_t ranks) {
    if (ranks == 0) invalid_argument("attn::ex11::ring_allreduce_bytes", "ranks = 0");
    return 2.0 * bytes;
}

}  // namespace attn::ex11
