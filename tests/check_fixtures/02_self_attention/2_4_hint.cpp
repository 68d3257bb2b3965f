// answers: 2.4
// expect 2.4: passing
// The hint followed literally: skip the zero weights, natural logarithm.
#include "exercises.hpp"

#include <cmath>

namespace attn::ex02 {

Vector attention_entropy(const Matrix& weights) {
    check_shape("attn::ex02::attention_entropy", "weights", weights, {any("T_q"), any("T_k")});
    Vector h = xt::zeros<float>({weights.shape(0)});
    for (std::size_t i = 0; i < weights.shape(0); ++i)
        for (std::size_t j = 0; j < weights.shape(1); ++j)
            if (weights(i, j) != 0.0f) h(i) -= weights(i, j) * std::log(weights(i, j));
    return h;
}

}  // namespace attn::ex02
