// answers: 4.4
// expect 4.4: failing: the heads split by a plain reshape
// Splits Q, K and V by reshaping their [T, d_model] numbers to [n_heads, T, d_head] (PyTorch's
// view without its transpose), then merges with merge_heads.
#include "exercises.hpp"

#include "chapters/02_self_attention/self_attention.hpp"
#include "chapters/03_causal_masking/causal_masking.hpp"

#include <xtensor-blas/xlinalg.hpp>

#include <algorithm>
#include <cmath>
#include <string>

namespace attn::ex04 {

Matrix multi_head_attention(const Matrix& x, const Matrix& w_q, const Matrix& w_k,
                            const Matrix& w_v, const Matrix& w_o, std::size_t n_heads,
                            std::size_t n_kv_heads, bool causal) {
    const char* fn = "attn::ex04::multi_head_attention";
    check_shape(fn, "x", x, {any("T"), any("d_model")});
    if (n_heads == 0 || x.shape(1) % n_heads != 0)
        invalid_argument(fn, "d_model = " + std::to_string(x.shape(1)) +
                                 " is not a multiple of n_heads = " + std::to_string(n_heads));
    if (n_kv_heads == 0 || n_heads % n_kv_heads != 0)
        invalid_argument(fn,
                         "n_heads = " + std::to_string(n_heads) +
                             " is not a multiple of n_kv_heads = " + std::to_string(n_kv_heads));
    const std::size_t d_kv = n_kv_heads * (x.shape(1) / n_heads);
    check_shape(fn, "w_q", w_q, {exactly("d_model", x.shape(1)), exactly("d_model", x.shape(1))});
    check_shape(fn, "w_k", w_k,
                {exactly("d_model", x.shape(1)), exactly("n_kv_heads * d_head", d_kv)});
    check_shape(fn, "w_v", w_v,
                {exactly("d_model", x.shape(1)), exactly("n_kv_heads * d_head", d_kv)});
    check_shape(fn, "w_o", w_o, {exactly("d_model", x.shape(1)), exactly("d_model", x.shape(1))});
    const std::size_t T = x.shape(0), d_model = x.shape(1), d_head = d_model / n_heads;
    const auto reshaped = [&](const Matrix& m, std::size_t heads) -> Tensor3 {
        Tensor3 out = xt::zeros<float>({heads, T, d_head});
        std::copy(m.begin(), m.end(), out.begin());
        return out;
    };
    const Tensor3 q = reshaped(attn::project(x, w_q), n_heads);
    const Tensor3 k = reshaped(attn::project(x, w_k), n_kv_heads);
    const Tensor3 v = reshaped(attn::project(x, w_v), n_kv_heads);
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
