// answers: 2.4
// expect 2.4: failing
// mistake: skips every weight that is not above 0, and a NaN weight is not above 0 either, so a row holding a NaN gets a finite entropy instead of NaN
// part: NaN handling
#include "exercises.hpp"

#include <xtensor/xbuilder.hpp>

#include <cmath>

namespace attn::ex02 {

Vector attention_entropy(const Matrix& weights) {
    check_shape("attn::ex02::attention_entropy", "weights", weights, {any("T_q"), any("T_k")});
    const std::size_t T_q = weights.shape(0), T_k = weights.shape(1);
    Vector entropy = xt::zeros<float>({T_q});
    for (std::size_t i = 0; i < T_q; ++i) {
        double h = 0.0;
        for (std::size_t j = 0; j < T_k; ++j) {
            const double w = weights(i, j);
            if (w > 0.0) h -= w * std::log(w);  // 0 ln 0 = 0
        }
        entropy(i) = static_cast<float>(h);
    }
    return entropy;
}

}  // namespace attn::ex02
