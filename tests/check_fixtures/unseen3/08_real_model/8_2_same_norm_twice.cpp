// answers: 8.2
// expect 8.2: failing
// mistake: the second RMSNorm uses attention_norm as its gain instead of ffn_norm, so the feed-forward input is scaled by the wrong gain; right only when the two gains are equal.
// part: the gain of the second RMSNorm (wrong weight fed)
#include "exercises.hpp"

#include <xtensor/xbuilder.hpp>
#include <xtensor/xview.hpp>

namespace attn::ex08 {

Matrix llama_block(const Matrix& x, const Vector& attention_norm, const MultiHeadWeights& attention,
                   const Vector& ffn_norm, const SwiGLUWeights& ffn) {
    constexpr const char* fn = "attn::ex08::llama_block";
    check_shape(fn, "x", x, {any("T"), any("d_model")});
    const std::size_t T = x.shape(0), d_model = x.shape(1);
    const std::size_t d_head =
        attn::check_attention_weights(fn, d_model, attention, "", attn::Biases::none);

    const Matrix z = attn::rms_norm(x, attention_norm, 1e-5f);
    const Tensor3 q = attn::split_heads(attn::project(z, attention.w_q), attention.n_heads);
    const Tensor3 k = attn::split_heads(attn::project(z, attention.w_k), attention.n_kv_heads);
    const Tensor3 v = attn::split_heads(attn::project(z, attention.w_v), attention.n_kv_heads);
    const Mask allowed = attn::causal_mask(T);

    Tensor3 outputs = xt::zeros<float>({attention.n_heads, T, d_head});
    for (std::size_t j = 0; j < attention.n_heads; ++j) {
        const std::size_t g = attn::kv_head_for(j, attention.n_heads, attention.n_kv_heads);
        const Matrix qm = xt::view(q, j, xt::all(), xt::all());
        const Matrix km = xt::view(k, g, xt::all(), xt::all());
        const Matrix vm = xt::view(v, g, xt::all(), xt::all());
        xt::view(outputs, j, xt::all(), xt::all()) =
            attn::masked_attention(rope(qm, 0, 10000.0f), rope(km, 0, 10000.0f), vm, allowed)
                .output;
    }
    const Matrix h = x + attn::project(attn::merge_heads(outputs), attention.w_o);
    return h + attn::swiglu(attn::rms_norm(h, attention_norm, 1e-5f), ffn);
}

}  // namespace attn::ex08
