// answers: 5.4
// expect 5.4: failing
// mistake: GELU is applied to z W1 and b1 added afterwards, GELU(z W1) + b1, instead of GELU(z W1 + b1); right only when b1 is 0
// part: the order of bias and activation in the feed-forward
#include "exercises.hpp"

#include <xtensor-blas/xlinalg.hpp>

namespace attn::ex05 {

Matrix pre_ln_block(const Matrix& x, const Block& w) {
    constexpr const char* fn = "attn::ex05::pre_ln_block";
    check_shape(fn, "x", x, {any("T"), any("d_model")});
    const std::size_t d_model = x.shape(1);
    check_shape(fn, "ln1_gain", w.ln1_gain, {exactly("d_model", d_model)});
    check_shape(fn, "ln1_bias", w.ln1_bias, {exactly("d_model", d_model)});
    check_shape(fn, "ln2_gain", w.ln2_gain, {exactly("d_model", d_model)});
    check_shape(fn, "ln2_bias", w.ln2_bias, {exactly("d_model", d_model)});
    check_shape(fn, "w1", w.w1, {exactly("d_model", d_model), any("d_ff")});
    const std::size_t d_ff = w.w1.shape(1);
    check_shape(fn, "b1", w.b1, {exactly("d_ff", d_ff)});
    check_shape(fn, "w2", w.w2, {exactly("d_ff", d_ff), exactly("d_model", d_model)});
    check_shape(fn, "b2", w.b2, {exactly("d_model", d_model)});

    const Matrix z1 = layer_norm(x, w.ln1_gain, w.ln1_bias, 1e-5f);
    const Matrix attended = attn::multi_head_attention(z1, w.attention, true).output;
    const Matrix h = x + attended;

    const Matrix z2 = layer_norm(h, w.ln2_gain, w.ln2_bias, 1e-5f);
    const Matrix pre = xt::linalg::dot(z2, w.w1);
    Matrix activated = gelu_tanh(pre);
    activated += w.b1;
    Matrix ffn = xt::linalg::dot(activated, w.w2);
    ffn += w.b2;
    Matrix y = h + ffn;
    return y;
}

}  // namespace attn::ex05
