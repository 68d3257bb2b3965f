// answers: 3.3
// expect 3.3: failing
// mistake: the distance test is i - j < window - 1 ("the window includes the query itself"), so each query sees one token too few: window 2 gives only the diagonal, window 1 nothing at all
// part: the window bound
#include "exercises.hpp"

#include <xtensor/xbuilder.hpp>

#include <string>

namespace attn::ex03 {

Mask sliding_window_mask(std::size_t T, std::size_t window) {
    constexpr const char* fn = "attn::ex03::sliding_window_mask";
    if (T == 0) attn::invalid_argument(fn, "T = 0: the mask needs at least one token");
    if (window == 0) attn::invalid_argument(fn, "window = 0: a query must see at least itself");
    Mask allowed = xt::zeros<bool>({T, T});
    for (std::size_t i = 0; i < T; ++i)
        for (std::size_t j = 0; j <= i; ++j) allowed(i, j) = i - j < window - 1;
    return allowed;
}

}  // namespace attn::ex03
