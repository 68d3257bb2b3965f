// answers: 3.3
// expect 3.3: failing
// mistake: only T = 0 is refused; window = 0 is accepted and returns an all-false mask instead of throwing std::invalid_argument
// part: the window check
#include "exercises.hpp"

#include <xtensor/xbuilder.hpp>

namespace attn::ex03 {

Mask sliding_window_mask(std::size_t T, std::size_t window) {
    if (T == 0)
        attn::invalid_argument("attn::ex03::sliding_window_mask",
                               "T = 0: the mask needs at least one token");
    Mask allowed = xt::zeros<bool>({T, T});
    for (std::size_t i = 0; i < T; ++i)
        for (std::size_t j = 0; j <= i; ++j)  // j <= i: i - j cannot wrap round
            allowed(i, j) = i - j < window;
    return allowed;
}

}  // namespace attn::ex03
