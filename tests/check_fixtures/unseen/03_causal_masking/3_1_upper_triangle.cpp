// answers: 3.1
// expect 3.1: failing
// mistake: the comparison is turned around (j >= i), so query i sees itself and the future keys instead of itself and the past: the mask is the transpose of the causal one
// part: mask comparison direction
#include "exercises.hpp"

namespace attn::ex03 {

Mask causal_mask(std::size_t T) {
    if (T == 0)
        invalid_argument("attn::ex03::causal_mask", "argument 'T' must be at least 1, got 0");
    Mask m = Mask::from_shape({T, T});
    for (std::size_t i = 0; i < T; ++i)
        for (std::size_t j = 0; j < T; ++j) m(i, j) = j >= i;
    return m;
}

}  // namespace attn::ex03
