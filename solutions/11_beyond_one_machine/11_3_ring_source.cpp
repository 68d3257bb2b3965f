// Exercise 11.3, reference answer.
#include "exercises.hpp"

#include <string>

namespace attn::ex11 {

std::size_t ring_source(std::size_t rank, std::size_t step, std::size_t ranks) {
    constexpr const char* fn = "attn::ex11::ring_source";
    if (ranks == 0) invalid_argument(fn, "ranks = 0: there must be at least one process");
    if (rank >= ranks) {
        invalid_argument(fn, "rank = " + std::to_string(rank) +
                                 " is not below ranks = " + std::to_string(ranks));
    }
    if (step >= ranks) {
        invalid_argument(fn, "step = " + std::to_string(step) + " is not below ranks = " +
                                 std::to_string(ranks) + ": a ring of P ranks turns P - 1 times");
    }
    return (rank + ranks - step) % ranks;  // std::size_t: add P before subtracting
}

}  // namespace attn::ex11
