// answers: 2.4
// expect 2.4: failing: 0 * ln 0 gave NaN
// Forgets that 0 ln 0 is taken as 0.
#include "exercises.hpp"

#include <cmath>

namespace attn::ex02 {

Vector attention_entropy(const Matrix& weights) {
    check_shape("attn::ex02::attention_entropy", "weights", weights, {any("T_q"), any("T_k")});
    Vector h = xt::zeros<float>({weights.shape(0)});
    for (std::size_t i = 0; i < weights.shape(0); ++i)
        for (std::size_t j = 0; j < weights.shape(1); ++j)
            h(i) -= weights(i, j) * std::log(weights(i, j));
    return h;
}

}  // namespace attn::ex02
