// answers: 5.4
// expect 5.4: failing: the feed-forward network reads LN2(x)
// The second sub-layer normalises the block's input x instead of h, the stream after the
// attention's residual.
#include "exercises.hpp"

#include <xtensor-blas/xlinalg.hpp>

#include <cmath>

namespace attn::ex05 {

Matrix pre_ln_block(const Matrix& x, const Block& w) {
    const char* fn = "attn::ex05::pre_ln_block";
    check_shape(fn, "x", x, {any("T"), any("d_model")});
    const std::size_t d = x.shape(1);
    check_shape(fn, "ln1_gain", w.ln1_gain, {exactly("d_model", d)});
    check_shape(fn, "ln1_bias", w.ln1_bias, {exactly("d_model", d)});
    check_shape(fn, "ln2_gain", w.ln2_gain, {exactly("d_model", d)});
    check_shape(fn, "ln2_bias", w.ln2_bias, {exactly("d_model", d)});
    check_shape(fn, "w1", w.w1, {exactly("d_model", d), any("d_ff")});
    check_shape(fn, "b1", w.b1, {exactly("d_ff", w.w1.shape(1))});
    check_shape(fn, "w2", w.w2, {exactly("d_ff", w.w1.shape(1)), exactly("d_model", d)});
    check_shape(fn, "b2", w.b2, {exactly("d_model", d)});
    const auto ffn = [&](const Matrix& z) {
        Matrix hidden = xt::linalg::dot(z, w.w1);
        hidden += w.b1;
        Matrix out = xt::linalg::dot(gelu_tanh(hidden), w.w2);
        out += w.b2;
        return out;
    };
    Matrix h = x + attn::multi_head_attention(layer_norm(x, w.ln1_gain, w.ln1_bias, 1e-5f),
                                              w.attention, true)
                       .output;
    return h + ffn(layer_norm(x, w.ln2_gain, w.ln2_bias, 1e-5f));
}

}  // namespace attn::ex05
