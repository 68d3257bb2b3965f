// answers: 3.3
// expect 3.3: failing
// mistake: the window is a band on both sides of the diagonal (|i - j| < window), so a query also sees up to window - 1 future tokens: the mask is not causal
// part: causal part of the window mask
#include "exercises.hpp"

#include <string>

namespace attn::ex03 {

Mask sliding_window_mask(std::size_t T, std::size_t window) {
    constexpr const char* fn = "attn::ex03::sliding_window_mask";
    if (T == 0) invalid_argument(fn, "argument 'T' must be at least 1, got 0");
    if (window == 0) invalid_argument(fn, "argument 'window' must be at least 1, got 0");
    Mask m = Mask::from_shape({T, T});
    for (std::size_t i = 0; i < T; ++i) {
        for (std::size_t j = 0; j < T; ++j) {
            const std::size_t distance = j <= i ? i - j : j - i;
            m(i, j) = distance < window;
        }
    }
    return m;
}

}  // namespace attn::ex03
