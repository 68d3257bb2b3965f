// answers: 1.4
// expect 1.4: failing
// mistake: one maximum over the whole score matrix is subtracted instead of each row's own, so a row whose scores all lie far (about 100) below another row's maximum underflows to all zeros and gives 0/0 = NaN.
// part: the softmax's max (global instead of per row)
#include "exercises.hpp"

#include <xtensor-blas/xlinalg.hpp>
#include <xtensor/xmath.hpp>

#include <cmath>

namespace attn::ex01 {

Matrix attention_weights(const Matrix& queries, const Matrix& keys) {
    constexpr const char* fn = "attn::ex01::attention_weights";
    check_shape(fn, "queries", queries, {any("T_q"), any("d_k")});
    check_shape(fn, "keys", keys, {any("T_k"), exactly("d_k", queries.shape(1))});
    Matrix s = xt::linalg::dot(queries, xt::transpose(keys));
    s *= 1.0f / std::sqrt(static_cast<float>(queries.shape(1)));
    const float m = xt::amax(s)();
    Matrix e = xt::exp(s - m);
    for (std::size_t i = 0; i < e.shape(0); ++i) {
        float sum = 0.0f;
        for (std::size_t j = 0; j < e.shape(1); ++j) sum += e(i, j);
        for (std::size_t j = 0; j < e.shape(1); ++j) e(i, j) /= sum;
    }
    return e;
}

}  // namespace attn::ex01
