// answers: 11.3
// expect 11.3: failing
// mistake: avoids the unsigned wrap by doing r - s in signed integers, but C++'s % keeps the sign of r - s, so whenever step > rank the remainder is negative and its cast to std::size_t is near 2^64 (e.g. P = 4, rank 1, step 2 gives 2^64 - 1 instead of 3), whatever P is.
// part: the wrap from rank 0 to rank P - 1
#include "exercises.hpp"

#include <string>

namespace attn::ex11 {

std::size_t ring_source(std::size_t rank, std::size_t step, std::size_t ranks) {
    if (ranks == 0) invalid_argument("ring_source", "ranks = 0");
    if (rank >= ranks) {
        invalid_argument("ring_source", "rank = " + std::to_string(rank) +
                                            " is not below ranks = " + std::to_string(ranks));
    }
    if (step >= ranks) {
        invalid_argument("ring_source", "step = " + std::to_string(step) +
                                            " is not below ranks = " + std::to_string(ranks));
    }
    // Signed, so that r - s may go below 0 instead of wrapping round.
    const long long r = static_cast<long long>(rank);
    const long long s = static_cast<long long>(step);
    const long long p = static_cast<long long>(ranks);
    return static_cast<std::size_t>((r - s) % p);
}

}  // namespace attn::ex11
