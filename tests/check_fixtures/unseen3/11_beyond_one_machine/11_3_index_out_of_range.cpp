// answers: 11.3
// expect 11.3: failing
// mistake: throws std::out_of_range (not a std::invalid_argument) when rank or step is not below ranks, because they are indices; only ranks = 0 gets std::invalid_argument, so a test expecting invalid_argument for `rank = 4` or `step = 4` fails.
// part: exception type for a rank or step past the end
#include "exercises.hpp"

#include <stdexcept>
#include <string>

namespace attn::ex11 {

std::size_t ring_source(std::size_t rank, std::size_t step, std::size_t ranks) {
    if (ranks == 0) invalid_argument("ring_source", "ranks = 0");
    if (rank >= ranks) {
        throw std::out_of_range("ring_source: rank = " + std::to_string(rank) +
                                " is not below ranks = " + std::to_string(ranks));
    }
    if (step >= ranks) {
        throw std::out_of_range("ring_source: step = " + std::to_string(step) +
                                " is not below ranks = " + std::to_string(ranks));
    }
    return (rank + ranks - step) % ranks;
}

}  // namespace attn::ex11
