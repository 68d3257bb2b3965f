// answers: 3.2
// expect 3.2: failing
// mistake: each row's maximum is taken over every score, the masked ones too; when a masked score is far above the allowed ones, every allowed exp underflows to 0 and the row comes out all zeros instead of a softmax
// part: the row maximum
#include "exercises.hpp"

#include <xtensor/xbuilder.hpp>

#include <algorithm>
#include <cmath>
#include <limits>

namespace attn::ex03 {

Matrix masked_softmax(const Matrix& scores, const Mask& allowed) {
    constexpr const char* fn = "attn::ex03::masked_softmax";
    check_shape(fn, "scores", scores, {any("T_q"), any("T_k")});
    const std::size_t T_q = scores.shape(0), T_k = scores.shape(1);
    check_shape(fn, "allowed", allowed, {exactly("T_q", T_q), exactly("T_k", T_k)});
    Matrix weights = xt::zeros<float>({T_q, T_k});
    for (std::size_t i = 0; i < T_q; ++i) {
        float m = -std::numeric_limits<float>::infinity();
        for (std::size_t j = 0; j < T_k; ++j) m = std::max(m, scores(i, j));
        if (m == -std::numeric_limits<float>::infinity()) continue;  // only -inf: weights 0
        double sum = 0.0;
        for (std::size_t j = 0; j < T_k; ++j) {
            if (!allowed(i, j)) continue;  // a masked key keeps weight 0
            const float e = std::exp(scores(i, j) - m);
            weights(i, j) = e;
            sum += e;
        }
        if (sum == 0.0) continue;  // nothing allowed: the row stays 0
        for (std::size_t j = 0; j < T_k; ++j)
            weights(i, j) = static_cast<float>(weights(i, j) / sum);
    }
    return weights;
}

}  // namespace attn::ex03
