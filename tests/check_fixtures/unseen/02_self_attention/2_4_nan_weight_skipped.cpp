// answers: 2.4
// expect 2.4: failing
// mistake: the test w > 0 that skips the zero weights also skips a NaN weight (every comparison with NaN is false), so a row with a NaN gets a finite entropy instead of NaN
// part: NaN weight handling
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
            if (w > 0.0f) h(i) -= w * std::log(w);  // 0 ln 0 = 0
        }
    }
    return h;
}

}  // namespace attn::ex02
