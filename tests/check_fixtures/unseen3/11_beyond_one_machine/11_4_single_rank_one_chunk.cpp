// answers: 11.4
// expect 11.4: failing
// mistake: treats P = 1 as contiguous whatever the assignment ("one rank holds the whole sequence, nothing to balance"), so zigzag on one rank returns {0} instead of the two chunks {0, 1} of 2P = 2.
// part: zigzag when P = 1
#include "exercises.hpp"

#include <string>

namespace attn::ex11 {

std::vector<std::size_t> rank_chunks(std::size_t rank, std::size_t ranks, Assignment a) {
    if (ranks == 0) invalid_argument("rank_chunks", "ranks = 0");
    if (rank >= ranks) {
        invalid_argument("rank_chunks", "rank = " + std::to_string(rank) +
                                            " is not below ranks = " + std::to_string(ranks));
    }
    // One rank holds the whole sequence: there is no work to balance.
    if (a == Assignment::contiguous || ranks == 1) return {rank};
    return {rank, 2 * ranks - 1 - rank};
}

}  // namespace attn::ex11
