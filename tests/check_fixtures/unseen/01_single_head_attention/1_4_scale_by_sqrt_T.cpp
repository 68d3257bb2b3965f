// answers: 1.4
// expect 1.4: failing
// mistake: the scores are divided by the square root of the number of keys T_k instead of the square root of the width d_k
// part: score scale factor
#include "exercises.hpp"

#include <xtensor-blas/xlinalg.hpp>
#include <xtensor/xview.hpp>

#include <cmath>

namespace attn::ex01 {

Matrix attention_weights(const Matrix& queries, const Matrix& keys) {
    check_shape("attn::ex01::attention_weights", "queries", queries, {any("T_q"), any("d_k")});
    check_shape("attn::ex01::attention_weights", "keys", keys,
                {any("T_k"), exactly("d_k", queries.shape(1))});
    const float scale = 1.0f / std::sqrt(static_cast<float>(keys.shape(0)));
    Matrix weights = xt::linalg::dot(queries, xt::transpose(keys));
    weights *= scale;
    for (std::size_t i = 0; i < weights.shape(0); ++i) {
        auto row = xt::row(weights, i);
        row = stable_softmax(row);
    }
    return weights;
}

}  // namespace attn::ex01
