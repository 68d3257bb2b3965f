// answers: 1.4
// expect 1.4: failing
// mistake: the softmax runs down each column (over the queries) instead of along each row (over the keys), so the columns sum to one, not the rows
// part: softmax axis
#include "exercises.hpp"

#include <xtensor-blas/xlinalg.hpp>
#include <xtensor/xview.hpp>

#include <cmath>

namespace attn::ex01 {

Matrix attention_weights(const Matrix& queries, const Matrix& keys) {
    check_shape("attn::ex01::attention_weights", "queries", queries, {any("T_q"), any("d_k")});
    check_shape("attn::ex01::attention_weights", "keys", keys,
                {any("T_k"), exactly("d_k", queries.shape(1))});
    const float scale = 1.0f / std::sqrt(static_cast<float>(queries.shape(1)));
    Matrix weights = xt::linalg::dot(queries, xt::transpose(keys));
    weights *= scale;
    for (std::size_t j = 0; j < weights.shape(1); ++j) {
        auto column = xt::col(weights, j);
        column = stable_softmax(column);
    }
    return weights;
}

}  // namespace attn::ex01
