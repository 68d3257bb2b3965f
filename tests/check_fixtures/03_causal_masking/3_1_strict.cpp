// answers: 3.1
// expect 3.1: failing: off by one on the diagonal
// A token may not see itself here: off by one.
#include "exercises.hpp"

namespace attn::ex03 {

Mask causal_mask(std::size_t T) {
    if (T == 0) invalid_argument("attn::ex03::causal_mask", "T must be at least 1, got 0");
    Mask m = xt::zeros<bool>({T, T});
    for (std::size_t i = 0; i < T; ++i)
        for (std::size_t j = 0; j < T; ++j)
            if (j < i) m(i, j) = true;
    return m;
}

}  // namespace attn::ex03
