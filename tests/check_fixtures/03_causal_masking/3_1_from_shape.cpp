// answers: 3.1
// expect 3.1: failing: a mask cell was never written
// Mask::from_shape leaves the cells uninitialised; only the true cells are set.
#include "exercises.hpp"

namespace attn::ex03 {

Mask causal_mask(std::size_t T) {
    if (T == 0) invalid_argument("attn::ex03::causal_mask", "T must be at least 1, got 0");
    Mask m = Mask::from_shape({T, T});
    for (std::size_t i = 0; i < T; ++i)
        for (std::size_t j = 0; j < T; ++j)
            if (j <= i) m(i, j) = true;
    return m;
}

}  // namespace attn::ex03
