// answers: 2.4
// expect 2.4: failing
// mistake: each row is first divided by its own sum "to be safe", so a row of zeros becomes 0/0 = NaN instead of entropy 0, and a row that does not sum to one gets the entropy of its normalised version.
// part: the row normalisation before the sum
#include "exercises.hpp"

#include <xtensor/xbuilder.hpp>

#include <cmath>
#include <limits>

namespace attn::ex02 {

Vector attention_entropy(const Matrix& weights) {
    check_shape("attn::ex02::attention_entropy", "weights", weights, {any("T_q"), any("T_k")});
    const std::size_t T_q = weights.shape(0), T_k = weights.shape(1);
    Vector h = xt::zeros<float>({T_q});
    for (std::size_t i = 0; i < T_q; ++i) {
        float total = 0.0f;
        for (std::size_t j = 0; j < T_k; ++j) total += weights(i, j);
        float H = 0.0f;
        for (std::size_t j = 0; j < T_k; ++j) {
            const float w = weights(i, j) / total;
            if (std::isnan(w)) {
                H = std::numeric_limits<float>::quiet_NaN();
                break;
            }
            if (w > 0.0f) H -= w * std::log(w);
        }
        h(i) = H;
    }
    return h;
}

}  // namespace attn::ex02
