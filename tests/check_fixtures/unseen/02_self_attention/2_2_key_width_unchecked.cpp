// answers: 2.2
// expect 2.2: failing
// mistake: self_attention never checks that W_k has as many columns as W_q, so that mistake is reported by scaled_dot_product_attention instead of by self_attention
// part: argument check: W_q and W_k widths
#include "exercises.hpp"

#include "chapters/01_single_head_attention/single_head_attention.hpp"

namespace attn::ex02 {

Matrix self_attention(const Matrix& x, const Matrix& w_q, const Matrix& w_k, const Matrix& w_v) {
    constexpr const char* fn = "attn::ex02::self_attention";
    check_shape(fn, "x", x, {any("T"), any("d_model")});
    check_shape(fn, "w_q", w_q, {exactly("d_model", x.shape(1)), any("d_k")});
    check_shape(fn, "w_k", w_k, {exactly("d_model", x.shape(1)), any("d_k")});
    check_shape(fn, "w_v", w_v, {exactly("d_model", x.shape(1)), any("d_v")});
    return scaled_dot_product_attention(project(x, w_q), project(x, w_k), project(x, w_v)).output;
}

}  // namespace attn::ex02
