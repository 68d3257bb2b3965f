#include "chapters/05_transformer_block/transformer_block.hpp"

#include "common/shape.hpp"

#include <xtensor-blas/xlinalg.hpp>
#include <xtensor/xbuilder.hpp>
#include <xtensor/xmath.hpp>
#include <xtensor/xview.hpp>

#include <cmath>
#include <numbers>
#include <string>

namespace attn {

namespace {

void check_norm(const char* fn, const Matrix& x, const Vector& gain) {
    check_shape(fn, "x", x, {any("T"), any("d_model")});
    check_shape(fn, "gain", gain, {exactly("d_model", x.shape(1))});
}

void check_ffn(const char* fn, std::size_t d_model, const FeedForward& f) {
    check_shape(fn, "w1", f.w1, {exactly("d_model", d_model), any("d_ff")});
    check_shape(fn, "b1", f.b1, {exactly("d_ff", f.w1.shape(1))});
    check_shape(fn, "w2", f.w2, {exactly("d_ff", f.w1.shape(1)), exactly("d_model", d_model)});
    check_shape(fn, "b2", f.b2, {exactly("d_model", d_model)});
}

// The block's own weights (its attention's are checked by the attention it runs).
void check_block(const char* fn, const Matrix& x, const BlockWeights& w) {
    check_shape(fn, "x", x, {any("T"), any("d_model")});
    const std::size_t d_model = x.shape(1);
    check_shape(fn, "ln1_gain", w.ln1_gain, {exactly("d_model", d_model)});
    check_shape(fn, "ln1_bias", w.ln1_bias, {exactly("d_model", d_model)});
    check_shape(fn, "ln2_gain", w.ln2_gain, {exactly("d_model", d_model)});
    check_shape(fn, "ln2_bias", w.ln2_bias, {exactly("d_model", d_model)});
    check_ffn(fn, d_model, w.ffn);
}

Matrix zeros_like_rows(std::size_t rows, std::size_t cols) {
    return xt::zeros<float>({rows, cols});
}

}  // namespace

Matrix layer_norm(const Matrix& x, const Vector& gain, const Vector& bias, float eps) {
    constexpr const char* fn = "attn::layer_norm";
    check_norm(fn, x, gain);
    check_shape(fn, "bias", bias, {exactly("d_model", x.shape(1))});
    const std::size_t T = x.shape(0), d = x.shape(1);
    Matrix out = zeros_like_rows(T, d);
    for (std::size_t t = 0; t < T; ++t) {
        // In double: the square of a float above 1.8e19 overflows float, and a variance of
        // inf would normalise every feature to 0, leaving only the bias.
        const auto row = xt::cast<double>(xt::row(x, t));
        const double mean = xt::mean(row)();
        const double variance = xt::mean(xt::square(row - mean))();  // biased: divided by d
        const auto normalised = xt::cast<float>((row - mean) / std::sqrt(variance + eps));
        xt::row(out, t) = normalised * gain + bias;
    }
    return out;
}

Matrix rms_norm(const Matrix& x, const Vector& gain, float eps) {
    check_norm("attn::rms_norm", x, gain);
    Matrix out = zeros_like_rows(x.shape(0), x.shape(1));
    for (std::size_t t = 0; t < x.shape(0); ++t) {
        // In double, as in layer_norm(): a square above float's 3.4e38 would make the root
        // mean square inf and every feature 0.
        const auto row = xt::cast<double>(xt::row(x, t));
        const double mean_square = xt::mean(xt::square(row))();
        xt::row(out, t) = xt::cast<float>(row / std::sqrt(mean_square + eps)) * gain;
    }
    return out;
}

Matrix gelu(const Matrix& x) {
    const float c = std::sqrt(2.0f / std::numbers::pi_v<float>);
    return 0.5f * x * (1.0f + xt::tanh(c * (x + 0.044715f * x * x * x)));
}

Matrix gelu_exact(const Matrix& x) {
    return 0.5f * x * (1.0f + xt::erf(x / std::sqrt(2.0f)));
}

Matrix feed_forward(const Matrix& x, const FeedForward& f, const char* caller) {
    check_shape(caller, "x", x, {any("T"), any("d_model")});
    check_ffn(caller, x.shape(1), f);
    return project(gelu(project(x, f.w1, f.b1)), f.w2, f.b2);  // chapter 04's, with a bias
}

Matrix swiglu(const Matrix& x, const SwiGLUWeights& f) {
    constexpr const char* fn = "attn::swiglu";
    check_shape(fn, "x", x, {any("T"), any("d_model")});
    const std::size_t d_model = x.shape(1);
    check_shape(fn, "w_gate", f.w_gate, {exactly("d_model", d_model), any("d_ff")});
    check_shape(fn, "w_up", f.w_up,
                {exactly("d_model", d_model), exactly("d_ff", f.w_gate.shape(1))});
    check_shape(fn, "w_down", f.w_down,
                {exactly("d_ff", f.w_gate.shape(1)), exactly("d_model", d_model)});
    return project(silu_gate(project(x, f.w_gate), project(x, f.w_up)), f.w_down);
}

Matrix silu_gate(const Matrix& gate, const Matrix& up) {
    if (gate.shape() != up.shape()) {
        invalid_argument("attn::silu_gate", "'gate' has shape " + shape_of(gate) +
                                                ", 'up' has shape " + shape_of(up) +
                                                "; they must be equal");
    }
    return gate / (1.0f + xt::exp(-gate)) * up;
}

Matrix transformer_block(const Matrix& x, const BlockWeights& w) {
    constexpr const char* fn = "attn::transformer_block";
    check_block(fn, x, w);  // first: errors name this function, not layer_norm() or the attention
    return transformer_block(x, w, [&](const Matrix& attention_input) {
        return multi_head_attention(attention_input, w.attention, true, fn).output;  // causal
    });
}

Matrix transformer_block(const Matrix& x, const BlockWeights& w, const AttentionLayer& attention,
                         BlockActivations* keep) {
    // h = x + MHA(LN1(x)): the attention reads a normalised copy and adds to the stream.
    Matrix attention_input = layer_norm(x, w.ln1_gain, w.ln1_bias);
    Matrix residual = x + attention(attention_input);
    // y = h + FFN(LN2(h)): feed_forward(), its steps named, to keep them.
    Matrix ffn_input = layer_norm(residual, w.ln2_gain, w.ln2_bias);
    Matrix hidden = project(ffn_input, w.ffn.w1, w.ffn.b1);
    Matrix activated = gelu(hidden);
    Matrix y = residual + project(activated, w.ffn.w2, w.ffn.b2);
    if (keep) {
        *keep = {x,
                 std::move(attention_input),
                 std::move(residual),
                 std::move(ffn_input),
                 std::move(hidden),
                 std::move(activated)};
    }
    return y;
}

Matrix post_ln_block(const Matrix& x, const BlockWeights& w) {
    constexpr const char* fn = "attn::post_ln_block";
    check_block(fn, x, w);
    const Matrix h = layer_norm(x + multi_head_attention(x, w.attention, true, fn).output,
                                w.ln1_gain, w.ln1_bias);
    return layer_norm(h + feed_forward(h, w.ffn, fn), w.ln2_gain, w.ln2_bias);
}

BlockWeights gpt2_block(std::size_t d_model, std::size_t n_heads, std::size_t n_kv_heads,
                        std::size_t d_ff, std::size_t n_layers, Rng& rng, bool bias) {
    constexpr const char* fn = "attn::gpt2_block";
    if (d_ff == 0 || n_layers == 0)
        invalid_argument(fn, "d_ff and n_layers must be at least 1, got d_ff = " +
                                 std::to_string(d_ff) + ", n_layers = " + std::to_string(n_layers));
    const std::size_t d_head = head_size(d_model, n_heads, fn);
    check_kv_heads(fn, n_heads, n_kv_heads);
    constexpr float init_std = 0.02f;
    const float residual_std = init_std / std::sqrt(2.0f * static_cast<float>(n_layers));
    const std::size_t d_kv = n_kv_heads * d_head;
    BlockWeights b;
    b.ln1_gain = xt::ones<float>({d_model});
    b.ln1_bias = xt::zeros<float>({d_model});
    b.ln2_gain = xt::ones<float>({d_model});
    b.ln2_bias = xt::zeros<float>({d_model});
    b.attention.w_q = random_normal(d_model, d_model, rng, init_std);
    b.attention.w_k = random_normal(d_model, d_kv, rng, init_std);
    b.attention.w_v = random_normal(d_model, d_kv, rng, init_std);
    b.attention.w_o = random_normal(d_model, d_model, rng, residual_std);
    b.attention.n_heads = n_heads;
    b.attention.n_kv_heads = n_kv_heads;
    if (bias) {
        b.attention.b_q = xt::zeros<float>({d_model});
        b.attention.b_k = xt::zeros<float>({d_kv});
        b.attention.b_v = xt::zeros<float>({d_kv});
        b.attention.b_o = xt::zeros<float>({d_model});
    }
    b.ffn.w1 = random_normal(d_model, d_ff, rng, init_std);
    b.ffn.b1 = xt::zeros<float>({d_ff});
    b.ffn.w2 = random_normal(d_ff, d_model, rng, residual_std);
    b.ffn.b2 = xt::zeros<float>({d_model});
    return b;
}

}  // namespace attn
