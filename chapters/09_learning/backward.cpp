#include "chapters/09_learning/backward.hpp"

#include "chapters/03_causal_masking/causal_masking.hpp"
#include "chapters/05_transformer_block/gpt.hpp"
#include "common/shape.hpp"

#include <xtensor-blas/xlinalg.hpp>  // cblas_sgemm, through xflens
#include <xtensor/xbuilder.hpp>
#include <xtensor/xmanipulation.hpp>
#include <xtensor/xview.hpp>

#include <cmath>
#include <numbers>
#include <string>

namespace attn {

// a b, a^T b, a b^T or a^T b^T (the flags say which) in one BLAS call: the transpose is
// BLAS's way of reading the matrix, never a copy. A dimension of 0 gives zeros of the shape.
Matrix product(const Matrix& a, const Matrix& b, bool transpose_a, bool transpose_b) {
    const std::size_t m = transpose_a ? a.shape(1) : a.shape(0);
    const std::size_t inner = transpose_a ? a.shape(0) : a.shape(1);
    const std::size_t n = transpose_b ? b.shape(0) : b.shape(1);
    if ((transpose_b ? b.shape(1) : b.shape(0)) != inner) {
        invalid_argument("attn::product", std::string("a") + (transpose_a ? "^T" : "") + " is " +
                                              std::to_string(m) + " x " + std::to_string(inner) +
                                              " but b" + (transpose_b ? "^T" : "") + " is " +
                                              shape_of(b) + (transpose_b ? " transposed" : ""));
    }
    Matrix out = xt::zeros<float>({m, n});
    if (m == 0 || n == 0 || inner == 0) return out;
    cblas_sgemm(CblasRowMajor, transpose_a ? CblasTrans : CblasNoTrans,
                transpose_b ? CblasTrans : CblasNoTrans, static_cast<int>(m), static_cast<int>(n),
                static_cast<int>(inner), 1.0f, a.data(), static_cast<int>(a.shape(1)), b.data(),
                static_cast<int>(b.shape(1)), 0.0f, out.data(), static_cast<int>(n));
    return out;
}

LinearGradients linear_backward(const Matrix& x, const Matrix& w, const Matrix& dy) {
    constexpr const char* fn = "attn::linear_backward";
    check_shape(fn, "x", x, {any("T"), any("in")});
    check_shape(fn, "w", w, {exactly("in", x.shape(1)), any("out")});
    check_shape(fn, "dy", dy, {exactly("T", x.shape(0)), exactly("out", w.shape(1))});
    // Each y[t, o] = sum_i x[t, i] W[i, o] + b[o]: x meets W's columns, W meets every token.
    return {product(dy, w, false, true), product(x, dy, true, false), xt::sum(dy, {0})};
}

Matrix softmax_backward(const Matrix& p, const Matrix& dp) {
    constexpr const char* fn = "attn::softmax_backward";
    check_shape(fn, "p", p, {any("T_q"), any("T_k")});
    check_shape(fn, "dp", dp, {exactly("T_q", p.shape(0)), exactly("T_k", p.shape(1))});
    Matrix ds = xt::zeros<float>(p.shape());
    for (std::size_t i = 0; i < p.shape(0); ++i) {
        // dS_ij = P_ij (dP_ij - sum_k dP_ik P_ik): raising one score raises its weight and
        // lowers all the others of its row, which share the same sum.
        double dot = 0.0;
        for (std::size_t j = 0; j < p.shape(1); ++j) dot += static_cast<double>(dp(i, j)) * p(i, j);
        for (std::size_t j = 0; j < p.shape(1); ++j)
            ds(i, j) = static_cast<float>(p(i, j) * (dp(i, j) - dot));
    }
    return ds;
}

AttentionGradients attention_backward(const Matrix& p, const Matrix& q, const Matrix& k,
                                      const Matrix& v, const Matrix& d_out) {
    constexpr const char* fn = "attn::attention_backward";
    check_shape(fn, "q", q, {any("T_q"), any("d")});
    check_shape(fn, "k", k, {any("T_k"), exactly("d", q.shape(1))});
    check_shape(fn, "v", v, {exactly("T_k", k.shape(0)), any("d_v")});
    check_shape(fn, "p", p, {exactly("T_q", q.shape(0)), exactly("T_k", k.shape(0))});
    check_shape(fn, "d_out", d_out, {exactly("T_q", q.shape(0)), exactly("d_v", v.shape(1))});
    const float scale = 1.0f / std::sqrt(static_cast<float>(q.shape(1)));
    const Matrix dp = product(d_out, v, false, true);  // O = P V
    const Matrix ds = softmax_backward(p, dp);         // masked keys: P = 0, so dS = 0
    return {Matrix(product(ds, k) * scale), Matrix(product(ds, q, true, false) * scale),
            product(p, d_out, true, false)};
}

AttentionGradients causal_attention_backward(const Matrix& q, const Matrix& k, const Matrix& v,
                                             const Matrix& d_out) {
    constexpr const char* fn = "attn::causal_attention_backward";
    check_shape(fn, "q", q, {any("T"), any("d")});
    const std::size_t T = q.shape(0), d = q.shape(1);
    check_shape(fn, "k", k, {exactly("T", T), exactly("d", d)});
    check_shape(fn, "v", v, {exactly("T", T), any("d_v")});
    check_shape(fn, "d_out", d_out, {exactly("T", T), exactly("d_v", v.shape(1))});
    // The forward pass's weights, recomputed: cheaper to keep Q and K than the T x T matrix.
    const Matrix p = masked_attention(q, k, v, causal_mask(T)).weights;
    return attention_backward(p, q, k, v, d_out);
}

MultiHeadForward multi_head_attention_forward(const Matrix& x, const MultiHeadWeights& w) {
    constexpr const char* fn = "attn::multi_head_attention_forward";
    check_shape(fn, "x", x, {any("T"), any("d_model")});
    check_attention_weights(fn, x.shape(1), w, "", Biases::optional);
    MultiHeadForward f;
    f.q = split_heads(affine(x, w.w_q, w.b_q), w.n_heads, fn);
    f.k = split_heads(affine(x, w.w_k, w.b_k), w.n_kv_heads, fn);
    f.v = split_heads(affine(x, w.w_v, w.b_v), w.n_kv_heads, fn);
    HeadsResult heads = attend_heads(f.q, f.k, f.v, causal_mask(x.shape(0)), fn);  // chapter 04
    f.weights = std::move(heads.weights);
    f.merged = merge_heads(heads.outputs);
    f.output = affine(f.merged, w.w_o, w.b_o);
    return f;
}

MultiHeadGradients multi_head_attention_backward(const Matrix& x, const MultiHeadWeights& w,
                                                 const MultiHeadForward& forward,
                                                 const Matrix& dy) {
    constexpr const char* fn = "attn::multi_head_attention_backward";
    check_attention_weights(fn, x.shape(1), w, "", Biases::optional);
    check_shape(fn, "x", x, {any("T"), any("d_model")});
    check_shape(fn, "dy", dy, {exactly("T", x.shape(0)), exactly("d_model", x.shape(1))});
    check_shape(fn, "forward.merged", forward.merged,
                {exactly("T", x.shape(0)), exactly("d_model", x.shape(1))});
    const Tensor3 &q = forward.q, &k = forward.k, &v = forward.v;

    MultiHeadGradients g;
    const LinearGradients out = linear_backward(forward.merged, w.w_o, dy);
    g.d_w.w_o = out.dw;
    g.d_w.b_o = out.db;
    // merge_heads put head h in columns h*d_head..: its gradient is those columns (a split).
    const Tensor3 d_heads = split_heads(out.dx, w.n_heads, fn);
    Tensor3 dq = xt::zeros<float>(q.shape()), dk = xt::zeros<float>(k.shape()),
            dv = xt::zeros<float>(v.shape());
    for (std::size_t h = 0; h < w.n_heads; ++h) {
        const std::size_t kv = kv_head_for(h, w.n_heads, w.n_kv_heads);
        const AttentionGradients a =
            attention_backward(xt::view(forward.weights, h), xt::view(q, h), xt::view(k, kv),
                               xt::view(v, kv), xt::view(d_heads, h));
        xt::view(dq, h) = a.dq;
        xt::view(dk, kv) += a.dk;  // query heads that share a key/value head add up
        xt::view(dv, kv) += a.dv;
    }
    // split_heads took column blocks: its gradient puts them back (a merge).
    const LinearGradients gq = linear_backward(x, w.w_q, merge_heads(dq));
    const LinearGradients gk = linear_backward(x, w.w_k, merge_heads(dk));
    const LinearGradients gv = linear_backward(x, w.w_v, merge_heads(dv));
    g.dx = gq.dx + gk.dx + gv.dx;  // x fed all three projections
    g.d_w.w_q = gq.dw;
    g.d_w.w_k = gk.dw;
    g.d_w.w_v = gv.dw;
    g.d_w.b_q = gq.db;
    g.d_w.b_k = gk.db;
    g.d_w.b_v = gv.db;
    g.d_w.n_heads = w.n_heads;
    g.d_w.n_kv_heads = w.n_kv_heads;
    return g;
}

LayerNormGradients layer_norm_backward(const Matrix& x, const Vector& gain, const Matrix& dy,
                                       float eps) {
    constexpr const char* fn = "attn::layer_norm_backward";
    check_shape(fn, "x", x, {any("T"), any("d")});
    const std::size_t T = x.shape(0), d = x.shape(1);
    check_shape(fn, "gain", gain, {exactly("d", d)});
    check_shape(fn, "dy", dy, {exactly("T", T), exactly("d", d)});
    LayerNormGradients g{xt::zeros<float>({T, d}), xt::zeros<float>({d}), xt::zeros<float>({d})};
    std::vector<double> x_hat(d), u(d);
    for (std::size_t t = 0; t < T; ++t) {
        // In double, as the forward pass (chapter 05).
        double mean = 0.0, variance = 0.0;
        for (std::size_t i = 0; i < d; ++i) mean += x(t, i);
        mean /= static_cast<double>(d);
        for (std::size_t i = 0; i < d; ++i) variance += (x(t, i) - mean) * (x(t, i) - mean);
        variance /= static_cast<double>(d);
        const double sigma = std::sqrt(variance + eps);
        double mean_u = 0.0, mean_u_x_hat = 0.0;
        for (std::size_t i = 0; i < d; ++i) {
            x_hat[i] = (x(t, i) - mean) / sigma;
            u[i] = static_cast<double>(dy(t, i)) * gain(i);
            mean_u += u[i];
            mean_u_x_hat += u[i] * x_hat[i];
            g.dgain(i) += static_cast<float>(dy(t, i) * x_hat[i]);
            g.dbias(i) += dy(t, i);
        }
        mean_u /= static_cast<double>(d);
        mean_u_x_hat /= static_cast<double>(d);
        for (std::size_t i = 0; i < d; ++i)
            g.dx(t, i) = static_cast<float>((u[i] - mean_u - x_hat[i] * mean_u_x_hat) / sigma);
    }
    return g;
}

Matrix gelu_backward(const Matrix& x, const Matrix& dy) {
    constexpr const char* fn = "attn::gelu_backward";
    check_shape(fn, "x", x, {any("T"), any("d")});
    check_shape(fn, "dy", dy, {exactly("T", x.shape(0)), exactly("d", x.shape(1))});
    const double c = std::sqrt(2.0 / std::numbers::pi);
    Matrix dx = xt::zeros<float>(x.shape());
    for (std::size_t i = 0; i < x.size(); ++i) {
        const double a = x.data()[i];
        const double th = std::tanh(c * (a + 0.044715 * a * a * a));
        const double slope =
            0.5 * (1.0 + th) + 0.5 * a * (1.0 - th * th) * c * (1.0 + 3.0 * 0.044715 * a * a);
        dx.data()[i] = static_cast<float>(slope * dy.data()[i]);
    }
    return dx;
}

Matrix embedding_backward(const std::vector<std::size_t>& tokens, const Matrix& dy,
                          std::size_t vocab_size) {
    constexpr const char* fn = "attn::embedding_backward";
    check_shape(fn, "dy", dy, {exactly("T", tokens.size()), any("d")});
    check_tokens(tokens, vocab_size, fn);
    Matrix de = xt::zeros<float>({vocab_size, dy.shape(1)});
    for (std::size_t t = 0; t < tokens.size(); ++t) xt::row(de, tokens[t]) += xt::row(dy, t);
    return de;
}

CrossEntropy cross_entropy(const Matrix& logits, const std::vector<std::size_t>& targets) {
    constexpr const char* fn = "attn::cross_entropy";
    check_shape(fn, "logits", logits, {exactly("N", targets.size()), any("vocab_size")});
    if (targets.empty()) invalid_argument(fn, "no targets: the mean of nothing is undefined");
    check_tokens(targets, logits.shape(1), fn);
    const std::size_t N = logits.shape(0), V = logits.shape(1);
    CrossEntropy ce{0.0, xt::zeros<float>({N, V})};
    for (std::size_t t = 0; t < N; ++t) {
        // log softmax(z)_j = z_j - (max + log sum exp(z - max)): no exp overflows.
        double top = logits(t, 0);
        for (std::size_t j = 1; j < V; ++j) top = std::max(top, static_cast<double>(logits(t, j)));
        double sum = 0.0;
        for (std::size_t j = 0; j < V; ++j) sum += std::exp(logits(t, j) - top);
        const double log_sum = top + std::log(sum);
        ce.loss -= logits(t, targets[t]) - log_sum;
        for (std::size_t j = 0; j < V; ++j) {
            const double p = std::exp(logits(t, j) - log_sum);
            ce.dlogits(t, j) = static_cast<float>((p - (j == targets[t] ? 1.0 : 0.0)) / N);
        }
    }
    ce.loss /= static_cast<double>(N);
    return ce;
}

}  // namespace attn
