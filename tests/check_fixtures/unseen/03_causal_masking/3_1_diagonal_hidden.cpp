// answers: 3.1
// expect 3.1: failing
// mistake: the mask uses j < i, so it also hides the diagonal: query t may not see key t, and query 0 sees nothing at all
// part: causal mask diagonal
#include "exercises.hpp"

#include <xtensor/xbuilder.hpp>

namespace attn::ex03 {

Mask causal_mask(std::size_t T) {
    if (T == 0)
        invalid_argument("attn::ex03::causal_mask", "argument 'T' must be at least 1, got 0");
    Mask m = xt::zeros<bool>({T, T});
    for (std::size_t i = 0; i < T; ++i)
        for (std::size_t j = 0; j < i; ++j) m(i, j) = true;
    return m;
}

}  // namespace attn::ex03
