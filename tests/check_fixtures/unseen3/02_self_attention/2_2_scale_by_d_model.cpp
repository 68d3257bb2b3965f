// answers: 2.2
// expect 2.2: failing
// mistake: the scores Q K^T are divided by sqrt(d_model), the width of x, instead of sqrt(d_k), the width of the queries, so the weights are wrong whenever the projections change the width.
// part: the score scale
#include "exercises.hpp"

#include "chapters/01_single_head_attention/single_head_attention.hpp"

#include <xtensor-blas/xlinalg.hpp>

#include <cmath>

namespace attn::ex02 {

Matrix self_attention(const Matrix& x, const Matrix& w_q, const Matrix& w_k, const Matrix& w_v) {
    constexpr const char* fn = "attn::ex02::self_attention";
    check_shape(fn, "x", x, {any("T"), any("d_model")});
    const std::size_t d_model = x.shape(1);
    check_shape(fn, "w_q", w_q, {exactly("d_model", d_model), any("d_k")});
    check_shape(fn, "w_k", w_k, {exactly("d_model", d_model), exactly("d_k", w_q.shape(1))});
    check_shape(fn, "w_v", w_v, {exactly("d_model", d_model), any("d_v")});
    const Matrix q = project(x, w_q);
    const Matrix k = project(x, w_k);
    const Matrix v = project(x, w_v);
    Matrix scores = xt::linalg::dot(q, xt::transpose(k));
    scores /= std::sqrt(static_cast<float>(d_model));
    const Matrix weights = attn::softmax_rows(scores);
    return xt::linalg::dot(weights, v);
}

}  // namespace attn::ex02
