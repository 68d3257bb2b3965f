// answers: 2.2
// expect 2.2: failing
// mistake: the softmax divides by the column sums (axis 0, over the queries) instead of the row sums (over the keys), so each key's column sums to one rather than each query's row
// part: softmax axis
#include "exercises.hpp"

#include <xtensor-blas/xlinalg.hpp>
#include <xtensor/xmath.hpp>
#include <xtensor/xsort.hpp>

#include <cmath>

namespace attn::ex02 {

Matrix self_attention(const Matrix& x, const Matrix& w_q, const Matrix& w_k, const Matrix& w_v) {
    constexpr const char* fn = "attn::ex02::self_attention";
    check_shape(fn, "x", x, {any("T"), any("d_model")});
    check_shape(fn, "w_q", w_q, {exactly("d_model", x.shape(1)), any("d_k")});
    check_shape(fn, "w_k", w_k, {exactly("d_model", x.shape(1)), exactly("d_k", w_q.shape(1))});
    check_shape(fn, "w_v", w_v, {exactly("d_model", x.shape(1)), any("d_v")});
    const Matrix q = project(x, w_q);
    const Matrix k = project(x, w_k);
    const Matrix v = project(x, w_v);
    Matrix scores = xt::linalg::dot(q, xt::transpose(k));
    scores /= std::sqrt(static_cast<float>(w_q.shape(1)));
    const float max = xt::amax(scores)();
    const Matrix e = xt::exp(scores - max);
    const Matrix sums = xt::sum(e, {0}, xt::keep_dims);
    const Matrix weights = e / sums;
    return xt::linalg::dot(weights, v);
}

}  // namespace attn::ex02
