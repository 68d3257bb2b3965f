// answers: 8.2
// expect 8.2: failing
// mistake: RoPE is applied to the whole projected Q and K ([T, d_model] and [T, n_kv_heads * d_head]) before they are split into heads, so the frequencies use d_model instead of d_head and later heads turn at the slow frequencies of the tail: right only with one head.
// part: where the rotation is applied (before the head split instead of per head)
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
    const Tensor3 q =
        attn::split_heads(rope(attn::project(z, attention.w_q), 0, 10000.0f), attention.n_heads);
    const Tensor3 k =
        attn::split_heads(rope(attn::project(z, attention.w_k), 0, 10000.0f), attention.n_kv_heads);
    const Tensor3 v = attn::split_heads(attn::project(z, attention.w_v), attention.n_kv_heads);
    const Mask allowed = attn::causal_mask(T);

    Tensor3 outputs = xt::zeros<float>({attention.n_heads, T, d_head});
    for (std::size_t j = 0; j < attention.n_heads; ++j) {
        const std::size_t g = attn::kv_head_for(j, attention.n_heads, attention.n_kv_heads);
        const Matrix qm = xt::view(q, j, xt::all(), xt::all());
        const Matrix km = xt::view(k, g, xt::all(), xt::all());
        const Matrix vm = xt::view(v, g, xt::all(), xt::all());
        xt::view(outputs, j, xt::all(), xt::all()) =
            attn::masked_attention(qm, km, vm, allowed).output;
    }
    const Matrix h = x + attn::project(attn::merge_heads(outputs), attention.w_o);
    return h + attn::swiglu(attn::rms_norm(h, ffn_norm, 1e-5f), ffn);
}

}  // namespace attn::ex08
