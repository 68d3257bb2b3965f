// Exercise 11.4, reference answer.
#include "exercises.hpp"

#include <string>

namespace attn::ex11 {

std::vector<std::size_t> rank_chunks(std::size_t rank, std::size_t ranks, Assignment a) {
    constexpr const char* fn = "attn::ex11::rank_chunks";
    if (ranks == 0) invalid_argument(fn, "ranks = 0: there must be at least one process");
    if (rank >= ranks) {
        invalid_argument(fn, "rank = " + std::to_string(rank) +
                                 " is not below ranks = " + std::to_string(ranks));
    }
    if (a == Assignment::contiguous) return {rank};
    return {rank, 2 * ranks - 1 - rank};  // one early chunk, its mirror late: equal causal work
}

}  // namespace attn::ex11
