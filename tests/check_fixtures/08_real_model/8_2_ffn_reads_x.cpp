// answers: 8.2
// expect 8.2: failing: the feed-forward network reads RMSNorm(x)
// The second norm reads the block's input x instead of h, the stream after the attention.
#include "exercises.hpp"

#include <xtensor/xview.hpp>

namespace attn::ex08 {

Matrix llama_block(const Matrix& x, const Vector& attention_norm, const MultiHeadWeights& attention,
                   const Vector& ffn_norm, const SwiGLUWeights& ffn) {
    const std::size_t T = x.shape(0), n_heads = attention.n_heads, n_kv = attention.n_kv_heads;
    Matrix z = attn::rms_norm(x, attention_norm, 1e-5f);
    Tensor3 q = attn::split_heads(attn::project(z, attention.w_q), n_heads);
    Tensor3 k = attn::split_heads(attn::project(z, attention.w_k), n_kv);
    Tensor3 v = attn::split_heads(attn::project(z, attention.w_v), n_kv);
    Tensor3 heads = xt::zeros<float>(q.shape());
    for (std::size_t h = 0; h < n_heads; ++h) {
        std::size_t g = attn::kv_head_for(h, n_heads, n_kv);
        Matrix q_h = rope(Matrix(xt::view(q, h, xt::all(), xt::all())), 0, 10000.0f);
        Matrix k_h = rope(Matrix(xt::view(k, g, xt::all(), xt::all())), 0, 10000.0f);
        Matrix v_h = xt::view(v, g, xt::all(), xt::all());
        xt::view(heads, h, xt::all(), xt::all()) =
            attn::masked_attention(q_h, k_h, v_h, attn::causal_mask(T)).output;
    }
    Matrix h = x + attn::project(attn::merge_heads(heads), attention.w_o);
    return h + attn::swiglu(attn::rms_norm(x, ffn_norm, 1e-5f), ffn);
}

}  // namespace attn::ex08
