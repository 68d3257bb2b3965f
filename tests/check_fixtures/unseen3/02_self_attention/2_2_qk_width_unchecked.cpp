// answers: 2.2
// expect 2.2: failing
// mistake: W_q and W_k are never compared in width, so when they differ the error comes from chapter 01's scaled_dot_product_attention (naming that function) instead of naming self_attention.
// part: argument checks (W_q against W_k)
#include "exercises.hpp"

#include "chapters/01_single_head_attention/single_head_attention.hpp"

namespace attn::ex02 {

Matrix self_attention(const Matrix& x, const Matrix& w_q, const Matrix& w_k, const Matrix& w_v) {
    constexpr const char* fn = "attn::ex02::self_attention";
    check_shape(fn, "x", x, {any("T"), any("d_model")});
    const std::size_t d_model = x.shape(1);
    check_shape(fn, "w_q", w_q, {exactly("d_model", d_model), any("d_k")});
    check_shape(fn, "w_k", w_k, {exactly("d_model", d_model), any("d_k")});
    check_shape(fn, "w_v", w_v, {exactly("d_model", d_model), any("d_v")});
    const Matrix q = project(x, w_q);
    const Matrix k = project(x, w_k);
    const Matrix v = project(x, w_v);
    return attn::scaled_dot_product_attention(q, k, v).output;
}

}  // namespace attn::ex02
