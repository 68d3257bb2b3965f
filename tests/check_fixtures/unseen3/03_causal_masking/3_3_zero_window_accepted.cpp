// answers: 3.3
// expect 3.3: failing
// mistake: window = 0 is never refused (only T is checked), so an all-false mask in which no query sees anything is returned instead of throwing std::invalid_argument.
// part: argument checks (window = 0)
#include "exercises.hpp"

#include <xtensor/xbuilder.hpp>

#include <string>

namespace attn::ex03 {

Mask sliding_window_mask(std::size_t T, std::size_t window) {
    constexpr const char* fn = "attn::ex03::sliding_window_mask";
    if (T == 0) invalid_argument(fn, "T = 0: a sequence needs at least one token");
    Mask allowed = xt::zeros<bool>({T, T});
    for (std::size_t i = 0; i < T; ++i)
        for (std::size_t j = 0; j <= i; ++j)
            if (i - j < window) allowed(i, j) = true;
    return allowed;
}

}  // namespace attn::ex03
