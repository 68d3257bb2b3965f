// answers: 11.3
// expect 11.3: failing
// mistake: returns 0 for P = 1 ("one rank only ever holds its own chunk") before checking rank and step, so on one rank a rank or step past the end (rank 1 or step 1 of 1 rank) returns 0 instead of throwing.
// part: argument checks when P = 1
#include "exercises.hpp"

#include <string>

namespace attn::ex11 {

std::size_t ring_source(std::size_t rank, std::size_t step, std::size_t ranks) {
    if (ranks == 0) invalid_argument("ring_source", "ranks = 0");
    if (ranks == 1) return 0;  // no ring: the one rank keeps its own chunk
    if (rank >= ranks) {
        invalid_argument("ring_source", "rank = " + std::to_string(rank) +
                                            " is not below ranks = " + std::to_string(ranks));
    }
    if (step >= ranks) {
        invalid_argument("ring_source", "step = " + std::to_string(step) +
                                            " is not below ranks = " + std::to_string(ranks));
    }
    return (rank + ranks - step) % ranks;
}

}  // namespace attn::ex11
