// answers: 2.4
// expect 2.4: failing
// mistake: the sum runs down each column (over the queries) instead of along each row, giving one entropy per key, [T_k], instead of one per query; right only for a symmetric square matrix
// part: the axis of the sum
#include "exercises.hpp"

#include <xtensor/xbuilder.hpp>

#include <cmath>
#include <limits>

namespace attn::ex02 {

Vector attention_entropy(const Matrix& weights) {
    check_shape("attn::ex02::attention_entropy", "weights", weights, {any("T_q"), any("T_k")});
    const std::size_t T_q = weights.shape(0), T_k = weights.shape(1);
    Vector entropy = xt::zeros<float>({T_k});
    for (std::size_t j = 0; j < T_k; ++j) {
        double h = 0.0;
        bool nan = false;
        for (std::size_t i = 0; i < T_q; ++i) {
            const double w = weights(i, j);
            if (std::isnan(w)) {
                nan = true;
                break;
            }
            if (w > 0.0) h -= w * std::log(w);
        }
        entropy(j) = nan ? std::numeric_limits<float>::quiet_NaN() : static_cast<float>(h);
    }
    return entropy;
}

}  // namespace attn::ex02
