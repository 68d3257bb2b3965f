// Exercise 11.5, reference answer.
#include "exercises.hpp"

namespace attn::ex11 {

double ring_allreduce_bytes(double bytes, std::size_t ranks) {
    if (ranks == 0)
        invalid_argument("attn::ex11::ring_allreduce_bytes",
                         "ranks = 0: there must be at least one process");
    const double P = static_cast<double>(ranks);
    return 2.0 * (P - 1.0) / P * bytes;  // 2 (P - 1) steps, each one piece of bytes / P
}

}  // namespace attn::ex11
