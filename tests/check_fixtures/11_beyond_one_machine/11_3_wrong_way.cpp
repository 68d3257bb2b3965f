// answers: 11.3
// expect 11.3: failing: the ring turned the wrong way
// Counts s ranks to the right instead of to the left.
#include "exercises.hpp"

#include <string>

namespace attn::ex11 {

std::size_t ring_source(std::size_t rank, std::size_t step, std::size_t ranks) {
    const char* fn = "attn::ex11::ring_source";
    if (ranks == 0) invalid_argument(fn, "ranks = 0");
    if (rank >= ranks)
        invalid_argument(fn, "rank = " + std::to_string(rank) +
                                 " is not below ranks = " + std::to_string(ranks));
    if (step >= ranks)
        invalid_argument(fn, "step = " + std::to_string(step) +
                                 " is not below ranks = " + std::to_string(ranks));
    return (rank + step) % ranks;
}

}  // namespace attn::ex11
