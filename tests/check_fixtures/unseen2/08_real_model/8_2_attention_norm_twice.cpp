// answers: 8.2
// expect 8.2: failing
// mistake: the second RMSNorm, before SwiGLU, uses attention_norm's gain instead of ffn_norm (checked but never used); right only when the two gains are equal
// part: the feed-forward norm's gain
#include "exercises.hpp"

#include "chapters/02_self_attention/self_attention.hpp"
#include "chapters/04_multi_head_attention/multi_head_attention.hpp"

#include <xtensor-blas/xlinalg.hpp>
#include <xtensor/xbuilder.hpp>
#include <xtensor/xview.hpp>

namespace attn::ex08 {

Matrix llama_block(const Matrix& x, const Vector& attention_norm, const MultiHeadWeights& attention,
                   const Vector& ffn_norm, const SwiGLUWeights& ffn) {
    constexpr const char* fn = "attn::ex08::llama_block";
    check_shape(fn, "x", x, {any("T"), any("d_model")});
    const std::size_t T = x.shape(0), d_model = x.shape(1);
    check_shape(fn, "attention_norm", attention_norm, {exactly("d_model", d_model)});
    check_shape(fn, "ffn_norm", ffn_norm, {exactly("d_model", d_model)});
    const std::size_t n_heads = attention.n_heads, n_kv_heads = attention.n_kv_heads;

    const Matrix z = attn::rms_norm(x, attention_norm, 1e-5f);
    const Tensor3 q = attn::split_heads(attn::project(z, attention.w_q), n_heads);
    const Tensor3 k = attn::split_heads(attn::project(z, attention.w_k), n_kv_heads);
    const Tensor3 v = attn::split_heads(attn::project(z, attention.w_v), n_kv_heads);
    const std::size_t d_head = q.shape(2);

    // Rotate each key/value head's keys once; the values stay as they are.
    Tensor3 k_rotated = k;
    for (std::size_t g = 0; g < n_kv_heads; ++g) {
        const Matrix kg = xt::view(k, g, xt::all(), xt::all());
        xt::view(k_rotated, g, xt::all(), xt::all()) = rope(kg, 0, 10000.0f);
    }

    const Mask allowed = attn::causal_mask(T);
    Tensor3 outputs = xt::zeros<float>({n_heads, T, d_head});
    for (std::size_t head = 0; head < n_heads; ++head) {
        const Matrix qh = xt::view(q, head, xt::all(), xt::all());
        const Matrix q_rotated = rope(qh, 0, 10000.0f);
        const std::size_t g = attn::kv_head_for(head, n_heads, n_kv_heads);
        const Matrix kg = xt::view(k_rotated, g, xt::all(), xt::all());
        const Matrix vg = xt::view(v, g, xt::all(), xt::all());
        xt::view(outputs, head, xt::all(), xt::all()) =
            attn::masked_attention(q_rotated, kg, vg, allowed).output;
    }
    const Matrix merged = attn::merge_heads(outputs);
    const Matrix attended = xt::linalg::dot(merged, attention.w_o);
    const Matrix h = x + attended;

    const Matrix z2 = attn::rms_norm(h, attention_norm, 1e-5f);
    Matrix y = h + attn::swiglu(z2, ffn);
    return y;
}

}  // namespace attn::ex08
