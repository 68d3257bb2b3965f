// answers: 4.4
// expect 4.4: failing
// mistake: the head outputs [n_heads, T, d_head] are reshaped straight to [T, d_model] without first swapping the head and token axes, so with several heads and several tokens the rows mix different tokens' outputs before W_o.
// part: the merge of the heads (reshape without its transpose)
#include "exercises.hpp"

#include "chapters/02_self_attention/self_attention.hpp"
#include "chapters/03_causal_masking/causal_masking.hpp"

#include <xtensor-blas/xlinalg.hpp>
#include <xtensor/xbuilder.hpp>
#include <xtensor/xstrided_view.hpp>
#include <xtensor/xview.hpp>

#include <string>

namespace attn::ex04 {

Matrix multi_head_attention(const Matrix& x, const Matrix& w_q, const Matrix& w_k,
                            const Matrix& w_v, const Matrix& w_o, std::size_t n_heads,
                            std::size_t n_kv_heads, bool causal) {
    constexpr const char* fn = "attn::ex04::multi_head_attention";
    check_shape(fn, "x", x, {any("T"), any("d_model")});
    const std::size_t T = x.shape(0), d_model = x.shape(1);
    if (n_heads == 0 || d_model % n_heads != 0) {
        invalid_argument(fn, "d_model = " + std::to_string(d_model) +
                                 " is not a multiple of n_heads = " + std::to_string(n_heads));
    }
    if (n_kv_heads == 0 || n_heads % n_kv_heads != 0) {
        invalid_argument(fn,
                         "n_heads = " + std::to_string(n_heads) +
                             " is not a multiple of n_kv_heads = " + std::to_string(n_kv_heads));
    }
    const std::size_t d_head = d_model / n_heads, d_kv = n_kv_heads * d_head;
    check_shape(fn, "w_q", w_q, {exactly("d_model", d_model), exactly("d_model", d_model)});
    check_shape(fn, "w_k", w_k,
                {exactly("d_model", d_model), exactly("n_kv_heads * d_head", d_kv)});
    check_shape(fn, "w_v", w_v,
                {exactly("d_model", d_model), exactly("n_kv_heads * d_head", d_kv)});
    check_shape(fn, "w_o", w_o, {exactly("d_model", d_model), exactly("d_model", d_model)});

    const Tensor3 qh = split_heads(attn::project(x, w_q), n_heads);
    const Tensor3 kh = split_heads(attn::project(x, w_k), n_kv_heads);
    const Tensor3 vh = split_heads(attn::project(x, w_v), n_kv_heads);
    const Mask allowed = causal ? attn::causal_mask(T) : Mask(xt::ones<bool>({T, T}));

    Tensor3 outputs = xt::zeros<float>({n_heads, T, d_head});
    for (std::size_t h = 0; h < n_heads; ++h) {
        const std::size_t g = kv_head_for(h, n_heads, n_kv_heads);
        const Matrix qm = xt::view(qh, h, xt::all(), xt::all());
        const Matrix km = xt::view(kh, g, xt::all(), xt::all());
        const Matrix vm = xt::view(vh, g, xt::all(), xt::all());
        xt::view(outputs, h, xt::all(), xt::all()) =
            attn::masked_attention(qm, km, vm, allowed).output;
    }
    // Heads side by side: [n_heads, T, d_head] -> [T, n_heads * d_head].
    const Matrix merged = xt::reshape_view(outputs, {T, d_model});
    return xt::linalg::dot(merged, w_o);
}

}  // namespace attn::ex04
