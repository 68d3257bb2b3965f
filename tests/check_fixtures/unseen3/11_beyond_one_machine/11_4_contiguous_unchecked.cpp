// answers: 11.4
// expect 11.4: failing
// mistake: returns {rank} for the contiguous assignment before checking ranks and rank, so contiguous with ranks = 0 or with rank past the last (rank 4 of 4) returns {rank} instead of throwing; zigzag is checked and right.
// part: argument checks on the contiguous path
#include "exercises.hpp"

#include <string>

namespace attn::ex11 {

std::vector<std::size_t> rank_chunks(std::size_t rank, std::size_t ranks, Assignment a) {
    // Contiguous: one chunk, the rank's own number.
    if (a == Assignment::contiguous) return {rank};
    if (ranks == 0) invalid_argument("rank_chunks", "ranks = 0");
    if (rank >= ranks) {
        invalid_argument("rank_chunks", "rank = " + std::to_string(rank) +
                                            " is not below ranks = " + std::to_string(ranks));
    }
    // Zigzag: chunk r of 2P and its mirror from the far end.
    return {rank, 2 * ranks - 1 - rank};
}

}  // namespace attn::ex11
