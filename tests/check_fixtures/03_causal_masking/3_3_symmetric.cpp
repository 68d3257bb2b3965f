// answers: 3.3
// expect 3.3: failing: not causal
// Looks ahead as well as back.
#include "exercises.hpp"

namespace attn::ex03 {

Mask sliding_window_mask(std::size_t T, std::size_t window) {
    if (T == 0) invalid_argument("attn::ex03::sliding_window_mask", "T must be at least 1, got 0");
    if (window == 0)
        invalid_argument("attn::ex03::sliding_window_mask", "window must be at least 1, got 0");
    Mask m = xt::zeros<bool>({T, T});
    for (std::size_t i = 0; i < T; ++i)
        for (std::size_t j = 0; j < T; ++j)
            if ((j <= i ? i - j : j - i) < window) m(i, j) = true;
    return m;
}

}  // namespace attn::ex03
