// answers: 1.4
// expect 1.4: failing: [rows] sum
// Row sums without keep_dims: a [T_q] vector does not broadcast against [T_q, T_k].
#include "exercises.hpp"

#include <cmath>

namespace attn::ex01 {

Matrix attention_weights(const Matrix& queries, const Matrix& keys) {
    check_shape("attn::ex01::attention_weights", "queries", queries, {any("T_q"), any("d_k")});
    check_shape("attn::ex01::attention_weights", "keys", keys,
                {any("T_k"), exactly("d_k", queries.shape(1))});
    Matrix scores = xt::linalg::dot(queries, xt::transpose(keys));
    scores /= std::sqrt(static_cast<float>(queries.shape(1)));
    Matrix maxima = xt::amax(scores, {1}, xt::keep_dims);
    Matrix e = xt::exp(scores - maxima);
    Vector sums = xt::sum(e, {1});
    return e / sums;
}

}  // namespace attn::ex01
