#include "chapters/02_self_attention/self_attention.hpp"

#include "common/matmul.hpp"
#include "common/shape.hpp"

#include <xtensor/xbuilder.hpp>
#include <xtensor/xview.hpp>

#include <cmath>
#include <string>

namespace attn {

Matrix project(const Matrix& x, const Matrix& w) {
    check_shape("attn::project", "x", x, {any("T"), any("d_model")});
    check_shape("attn::project", "w", w, {exactly("d_model", x.shape(1)), any("d_out")});
    // The product itself is common/matmul.hpp's, the book's one call into BLAS: for one
    // token (chapter 06's decode step) a matrix-vector product, which reads W once at the
    // speed of memory, about 3x faster than the general product for a single row.
    return matmul(x, w);
}

QKV project_qkv(const Matrix& x, const Projections& p, const char* caller) {
    const char* fn = caller;
    check_shape(fn, "x", x, {any("T"), any("d_model")});
    check_shape(fn, "w_q", p.w_q, {exactly("d_model", x.shape(1)), any("d_k")});
    check_shape(fn, "w_k", p.w_k, {exactly("d_model", x.shape(1)), exactly("d_k", p.w_q.shape(1))});
    check_shape(fn, "w_v", p.w_v, {exactly("d_model", x.shape(1)), any("d_v")});
    return {project(x, p.w_q), project(x, p.w_k), project(x, p.w_v)};
}

AttentionResult self_attention(const Matrix& x, const Projections& p) {
    const QKV qkv = project_qkv(x, p, "attn::self_attention");
    return scaled_dot_product_attention(qkv.q, qkv.k, qkv.v);
}

Projections random_projections(std::size_t d_model, std::size_t d_k, std::size_t d_v, Rng& rng) {
    if (d_model == 0 || d_k == 0 || d_v == 0) {
        invalid_argument(
            "attn::random_projections",
            "d_model, d_k and d_v must be at least 1, got d_model = " + std::to_string(d_model) +
                ", d_k = " + std::to_string(d_k) + ", d_v = " + std::to_string(d_v));
    }
    const float stddev = 1.0f / std::sqrt(static_cast<float>(d_model));
    Projections p;
    p.w_q = random_normal(d_model, d_k, rng, stddev);
    p.w_k = random_normal(d_model, d_k, rng, stddev);
    p.w_v = random_normal(d_model, d_v, rng, stddev);
    return p;
}

Projections designed_head() {
    constexpr float a = 4.0f;  // how strongly a query asks: larger makes softmax sharper
    enum Feature { det, noun, animal, main_clause, relative, verb, adj, past };
    Matrix w_q = xt::zeros<float>({8, 8});
    for (Feature from : {verb, adj}) w_q(from, noun) = w_q(from, animal) = a;
    w_q(main_clause, main_clause) = a;
    w_q(relative, relative) = a;
    w_q(det, noun) = a;
    w_q(noun, verb) = a;  // past tense takes no part in this head
    const Matrix identity = xt::eye<float>(8);
    return {w_q, identity, identity};
}

Matrix permute_rows(const Matrix& x, const std::vector<std::size_t>& order) {
    check_shape("attn::permute_rows", "x", x, {any("T"), any("d")});
    const std::size_t T = x.shape(0);
    if (order.size() != T) {
        invalid_argument("attn::permute_rows",
                         "argument 'order' must have T = " + std::to_string(T) +
                             " entries, but has " + std::to_string(order.size()));
    }
    std::vector<bool> seen(T, false);
    for (std::size_t i : order) {
        if (i >= T || seen[i]) {
            invalid_argument("attn::permute_rows",
                             "argument 'order' must be a permutation of 0..T-1 with T = " +
                                 std::to_string(T) + ", but contains " + std::to_string(i) +
                                 (i >= T ? " (out of range)" : " twice"));
        }
        seen[i] = true;
    }
    Matrix out = Matrix::from_shape(x.shape());
    for (std::size_t i = 0; i < T; ++i) xt::row(out, i) = xt::row(x, order[i]);
    return out;
}

Vector attention_entropy(const Matrix& weights) {
    check_shape("attn::attention_entropy", "weights", weights, {any("T_q"), any("T_k")});
    Vector h = xt::zeros<float>({weights.shape(0)});
    for (std::size_t i = 0; i < weights.shape(0); ++i) {
        for (std::size_t j = 0; j < weights.shape(1); ++j) {
            const float w = weights(i, j);
            if (std::isnan(w)) {
                h(i) = w;  // a NaN weight is a bug upstream: do not hide it
                break;
            }
            if (w > 0.0f) h(i) -= w * std::log(w);  // 0 ln 0 = 0: the limit as w -> 0
        }
    }
    return h;
}

}  // namespace attn
