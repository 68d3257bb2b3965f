// answers: 8.2
// expect 8.2: failing
// mistake: the second RMSNorm, before the SwiGLU network, uses attention_norm as its gain instead of ffn_norm
// part: gain of the second norm
#include "exercises.hpp"

#include <xtensor/xview.hpp>

namespace attn::ex08 {

Matrix llama_block(const Matrix& x, const Vector& attention_norm, const MultiHeadWeights& attention,
                   const Vector& ffn_norm, const SwiGLUWeights& ffn) {
    constexpr const char* fn = "attn::ex08::llama_block";
    check_shape(fn, "x", x, {any("T"), any("d_model")});
    const std::size_t T = x.shape(0), n_heads = attention.n_heads, n_kv = attention.n_kv_heads;
    const Matrix z = rms_norm(x, attention_norm, 1e-5f);
    const Tensor3 q = split_heads(project(z, attention.w_q), n_heads, fn);
    const Tensor3 k = split_heads(project(z, attention.w_k), n_kv, fn);
    const Tensor3 v = split_heads(project(z, attention.w_v), n_kv, fn);
    const Mask causal = causal_mask(T);
    Tensor3 heads = xt::zeros<float>(q.shape());
    for (std::size_t h = 0; h < n_heads; ++h) {
        const std::size_t g = kv_head_for(h, n_heads, n_kv);
        const Matrix q_h = rope(Matrix(xt::view(q, h, xt::all(), xt::all())), 0, 10000.0f);
        const Matrix k_h = rope(Matrix(xt::view(k, g, xt::all(), xt::all())), 0, 10000.0f);
        const Matrix v_h = xt::view(v, g, xt::all(), xt::all());
        xt::view(heads, h, xt::all(), xt::all()) = masked_attention(q_h, k_h, v_h, causal).output;
    }
    const Matrix h = x + project(merge_heads(heads), attention.w_o);
    return h + swiglu(rms_norm(h, attention_norm, 1e-5f), ffn);
}

}  // namespace attn::ex08
