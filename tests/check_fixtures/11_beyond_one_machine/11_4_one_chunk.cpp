// answers: 11.4
// expect 11.4: failing: zigzag gave one chunk
// Returns {rank} whatever the assignment.
#include "exercises.hpp"

#include <string>

namespace attn::ex11 {

std::vector<std::size_t> rank_chunks(std::size_t rank, std::size_t ranks, Assignment a) {
    const char* fn = "attn::ex11::rank_chunks";
    if (ranks == 0) invalid_argument(fn, "ranks = 0");
    if (rank >= ranks)
        invalid_argument(fn, "rank = " + std::to_string(rank) +
                                 " is not below ranks = " + std::to_string(ranks));
    if (a == Assignment::contiguous) return {rank};
    return {rank};
}

}  // namespace attn::ex11
