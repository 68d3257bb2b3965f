// answers: 4.4
// expect 4.4: failing: a function the answer called
// Leaves the checks to split_heads: its error names split_heads.
#include "exercises.hpp"

#include "chapters/02_self_attention/self_attention.hpp"
#include "chapters/03_causal_masking/causal_masking.hpp"

#include <xtensor-blas/xlinalg.hpp>

#include <cmath>
#include <string>

namespace attn::ex04 {

Matrix multi_head_attention(const Matrix& x, const Matrix& w_q, const Matrix& w_k,
                            const Matrix& w_v, const Matrix& w_o, std::size_t n_heads,
                            std::size_t n_kv_heads, bool causal) {
    const std::size_t T = x.shape(0), d_model = x.shape(1), d_head = d_model / n_heads;
    const Tensor3 q = split_heads(attn::project(x, w_q), n_heads);
    const Tensor3 k = split_heads(attn::project(x, w_k), n_kv_heads);
    const Tensor3 v = split_heads(attn::project(x, w_v), n_kv_heads);
    Mask mask = xt::ones<bool>({T, T});
    if (causal) mask = attn::causal_mask(T);
    Tensor3 outputs = xt::zeros<float>({n_heads, T, d_head});
    for (std::size_t h = 0; h < n_heads; ++h) {
        const std::size_t kv = kv_head_for(h, n_heads, n_kv_heads);
        Matrix q_h = xt::view(q, h, xt::all(), xt::all());
        Matrix k_h = xt::view(k, kv, xt::all(), xt::all());
        Matrix v_h = xt::view(v, kv, xt::all(), xt::all());
        xt::view(outputs, h, xt::all(), xt::all()) =
            attn::masked_attention(q_h, k_h, v_h, mask).output;
    }
    return xt::linalg::dot(merge_heads(outputs), w_o);
}

}  // namespace attn::ex04
