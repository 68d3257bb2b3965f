// answers: 2.2
// expect 2.2: failing
// mistake: the keys are passed where the queries go and the queries where the keys go, so the weights are softmax(K Q^T) and point the wrong way
// part: which of Q and K is transposed
#include "exercises.hpp"

#include "chapters/01_single_head_attention/single_head_attention.hpp"

namespace attn::ex02 {

Matrix self_attention(const Matrix& x, const Matrix& w_q, const Matrix& w_k, const Matrix& w_v) {
    constexpr const char* fn = "attn::ex02::self_attention";
    check_shape(fn, "x", x, {any("T"), any("d_model")});
    check_shape(fn, "w_q", w_q, {exactly("d_model", x.shape(1)), any("d_k")});
    check_shape(fn, "w_k", w_k, {exactly("d_model", x.shape(1)), exactly("d_k", w_q.shape(1))});
    check_shape(fn, "w_v", w_v, {exactly("d_model", x.shape(1)), any("d_v")});
    const Matrix q = project(x, w_q), k = project(x, w_k), v = project(x, w_v);
    return scaled_dot_product_attention(k, q, v).output;
}

}  // namespace attn::ex02
