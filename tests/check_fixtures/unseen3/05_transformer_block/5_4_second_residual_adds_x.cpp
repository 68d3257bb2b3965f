// answers: 5.4
// expect 5.4: failing
// mistake: the second residual adds the block input x instead of h, so the output is x + FFN(LN2(h)) and the attention sub-layer's contribution is dropped from the residual stream.
// part: the second residual connection
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

    const Matrix a =
        attn::multi_head_attention(layer_norm(x, w.ln1_gain, w.ln1_bias, 1e-5f), w.attention, true)
            .output;
    const Matrix h = x + a;
    Matrix z = xt::linalg::dot(layer_norm(h, w.ln2_gain, w.ln2_bias, 1e-5f), w.w1);
    z += w.b1;
    Matrix f = xt::linalg::dot(gelu_tanh(z), w.w2);
    f += w.b2;
    return x + f;
}

}  // namespace attn::ex05
