// answers: 3.1
// expect 3.1: failing
// mistake: T = 0 is never refused, so an empty [0, 0] mask is returned instead of throwing std::invalid_argument.
// part: argument checks (T = 0)
#include "exercises.hpp"

#include <xtensor/xbuilder.hpp>

namespace attn::ex03 {

Mask causal_mask(std::size_t T) {
    Mask allowed = xt::zeros<bool>({T, T});
    for (std::size_t i = 0; i < T; ++i)
        for (std::size_t j = 0; j <= i; ++j) allowed(i, j) = true;
    return allowed;
}

}  // namespace attn::ex03
