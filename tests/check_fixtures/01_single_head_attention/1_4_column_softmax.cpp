// answers: 1.4
// expect 1.4: failing: softmax over the wrong axis
#include "exercises.hpp"

#include <cmath>

namespace attn::ex01 {

Matrix attention_weights(const Matrix& queries, const Matrix& keys) {
    check_shape("attn::ex01::attention_weights", "queries", queries, {any("T_q"), any("d_k")});
    check_shape("attn::ex01::attention_weights", "keys", keys,
                {any("T_k"), exactly("d_k", queries.shape(1))});
    Matrix scores = xt::linalg::dot(queries, xt::transpose(keys));
    scores /= std::sqrt(static_cast<float>(queries.shape(1)));
    for (std::size_t j = 0; j < scores.shape(1); ++j)
        xt::col(scores, j) = stable_softmax(xt::col(scores, j));
    return scores;
}

}  // namespace attn::ex01
