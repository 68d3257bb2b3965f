// answers: 2.4
// expect 2.4: failing
// mistake: the entropy uses std::log2, giving bits, instead of the natural logarithm the task asks for (nats)
// part: logarithm base
#include "exercises.hpp"

#include <xtensor/xbuilder.hpp>

#include <cmath>

namespace attn::ex02 {

Vector attention_entropy(const Matrix& weights) {
    check_shape("attn::ex02::attention_entropy", "weights", weights, {any("T_q"), any("T_k")});
    Vector h = xt::zeros<float>({weights.shape(0)});
    for (std::size_t i = 0; i < weights.shape(0); ++i) {
        for (std::size_t j = 0; j < weights.shape(1); ++j) {
            const float w = weights(i, j);
            if (std::isnan(w)) {
                h(i) = w;
                break;
            }
            if (w > 0.0f) h(i) -= w * std::log2(w);
        }
    }
    return h;
}

}  // namespace attn::ex02
