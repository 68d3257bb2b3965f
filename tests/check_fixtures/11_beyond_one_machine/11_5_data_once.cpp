// answers: 11.5
// expect 11.5: failing: the data once whatever P
// The data once, as a root that reduces then broadcasts might count.
#include "exercises.hpp"

namespace attn::ex11 {

double ring_allreduce_bytes(double bytes, std::size_t ranks) {
    if (ranks == 0) invalid_argument("attn::ex11::ring_allreduce_bytes", "ranks = 0");
    return bytes;
}

}  // namespace attn::ex11
