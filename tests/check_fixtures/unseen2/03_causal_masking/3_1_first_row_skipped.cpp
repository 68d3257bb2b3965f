// answers: 3.1
// expect 3.1: failing
// mistake: the row loop starts at 1 ("the first token has no past"), so row 0 stays all false and query 0 may not even see itself; rows 1..T-1 are right
// part: the loop's first row
#include "exercises.hpp"

#include <xtensor/xbuilder.hpp>

namespace attn::ex03 {

Mask causal_mask(std::size_t T) {
    if (T == 0)
        attn::invalid_argument("attn::ex03::causal_mask",
                               "T = 0: the mask needs at least one token");
    Mask allowed = xt::zeros<bool>({T, T});
    for (std::size_t i = 1; i < T; ++i)
        for (std::size_t j = 0; j <= i; ++j) allowed(i, j) = true;
    return allowed;
}

}  // namespace attn::ex03
