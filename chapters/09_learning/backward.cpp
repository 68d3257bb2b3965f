#include "chapters/09_learning/backward.hpp"

#include "chapters/03_causal_masking/causal_masking.hpp"
#include "chapters/05_transformer_block/gpt.hpp"
#include "chapters/07_fast_attention/softmax_kernels.hpp"
#include "chapters/08_real_model/llama.hpp"
#include "common/matmul.hpp"
#include "common/shape.hpp"

#include <xtensor/xbuilder.hpp>
#include <xtensor/xmanipulation.hpp>
#include <xtensor/xview.hpp>

#include <algorithm>
#include <cmath>
#include <string>

namespace attn {

LinearGradients linear_backward(const Matrix& x, const Matrix& w, const Matrix& dy) {
    constexpr const char* fn = "attn::linear_backward";
    check_shape(fn, "x", x, {any("T"), any("in")});
    check_shape(fn, "w", w, {exactly("in", x.shape(1)), any("out")});
    check_shape(fn, "dy", dy, {exactly("T", x.shape(0)), exactly("out", w.shape(1))});
    // Each y[t, o] = sum_i x[t, i] W[i, o] + b[o]: x meets W's columns, W meets every token.
    Vector db = xt::zeros<float>({dy.shape(1)});
    for (std::size_t t = 0; t < dy.shape(0); ++t)
        for (std::size_t o = 0; o < dy.shape(1); ++o) db(o) += dy(t, o);
    return {matmul(dy, w, Read::as_stored, Read::transposed),
            matmul(x, dy, Read::transposed, Read::as_stored), db};
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
    const Matrix dp = matmul(d_out, v, Read::as_stored, Read::transposed);  // O = P V
    const Matrix ds = softmax_backward(p, dp);  // masked keys: P = 0, so dS = 0
    return {Matrix(matmul(ds, k) * scale),
            Matrix(matmul(ds, q, Read::transposed, Read::as_stored) * scale),
            matmul(p, d_out, Read::transposed, Read::as_stored)};
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

namespace {

// The rows of x from `first` to `last` (exclusive), as a matrix of their own.
Matrix rows(const Matrix& x, std::size_t first, std::size_t last) {
    return xt::view(x, xt::range(first, last), xt::all());
}

// `starts` checked (0 first, increasing, x's rows last), or {0, rows} when it is empty.
std::vector<std::size_t> sequence_starts(const char* fn, const std::vector<std::size_t>& starts,
                                         std::size_t rows) {
    if (starts.empty()) return {0, rows};
    bool increasing = starts.size() >= 2 && starts.front() == 0 && starts.back() == rows;
    for (std::size_t s = 1; increasing && s < starts.size(); ++s)
        increasing = starts[s] > starts[s - 1];
    if (!increasing) {
        std::string list;
        for (std::size_t s : starts) list += (list.empty() ? "" : ", ") + std::to_string(s);
        invalid_argument(fn, "starts {" + list + "} must begin at 0, increase and end at the " +
                                 std::to_string(rows) + " rows of x");
    }
    return starts;
}

}  // namespace

MultiHeadForward multi_head_attention_forward(const Matrix& x, const MultiHeadWeights& w,
                                              const std::vector<std::size_t>& starts) {
    constexpr const char* fn = "attn::multi_head_attention_forward";
    check_shape(fn, "x", x, {any("N"), any("d_model")});
    check_attention_weights(fn, x.shape(1), w, "", Biases::optional);
    MultiHeadForward f;
    f.starts = sequence_starts(fn, starts, x.shape(0));
    // The projections of every row of every sequence at once.
    const Matrix q = project(x, w.w_q, w.b_q), k = project(x, w.w_k, w.b_k),
                 v = project(x, w.w_v, w.b_v);
    f.merged = xt::zeros<float>({x.shape(0), q.shape(1)});
    for (std::size_t s = 0; s + 1 < f.starts.size(); ++s) {
        // Chapter 04's heads, on this sequence's rows only.
        const std::size_t first = f.starts[s], last = f.starts[s + 1];
        SequenceHeads heads{split_heads(rows(q, first, last), w.n_heads, fn),
                            split_heads(rows(k, first, last), w.n_kv_heads, fn),
                            split_heads(rows(v, first, last), w.n_kv_heads, fn),
                            {}};
        HeadsResult r = attend_heads(heads.q, heads.k, heads.v, causal_mask(last - first), fn);
        heads.weights = std::move(r.weights);
        xt::view(f.merged, xt::range(first, last), xt::all()) = merge_heads(r.outputs);
        f.sequences.push_back(std::move(heads));
    }
    f.output = project(f.merged, w.w_o, w.b_o);
    return f;
}

MultiHeadGradients multi_head_attention_backward(const Matrix& x, const MultiHeadWeights& w,
                                                 const MultiHeadForward& forward,
                                                 const Matrix& dy) {
    constexpr const char* fn = "attn::multi_head_attention_backward";
    check_attention_weights(fn, x.shape(1), w, "", Biases::optional);
    check_shape(fn, "x", x, {any("N"), any("d_model")});
    check_shape(fn, "dy", dy, {exactly("N", x.shape(0)), exactly("d_model", x.shape(1))});
    check_shape(fn, "forward.merged", forward.merged,
                {exactly("N", x.shape(0)), exactly("d_model", x.shape(1))});

    MultiHeadGradients g;
    const LinearGradients out = linear_backward(forward.merged, w.w_o, dy);
    g.d_w.w_o = out.dw;
    g.d_w.b_o = out.db;
    Matrix dq = xt::zeros<float>({x.shape(0), w.w_q.shape(1)}),
           dk = xt::zeros<float>({x.shape(0), w.w_k.shape(1)}),
           dv = xt::zeros<float>({x.shape(0), w.w_v.shape(1)});
    for (std::size_t s = 0; s < forward.sequences.size(); ++s) {
        const SequenceHeads& f = forward.sequences[s];
        const std::size_t first = forward.starts[s], last = forward.starts[s + 1];
        // merge_heads put head h in columns h*d_head..: its gradient is those columns (a split).
        const Tensor3 d_heads = split_heads(rows(out.dx, first, last), w.n_heads, fn);
        Tensor3 dq_s = xt::zeros<float>(f.q.shape()), dk_s = xt::zeros<float>(f.k.shape()),
                dv_s = xt::zeros<float>(f.v.shape());
        for (std::size_t h = 0; h < w.n_heads; ++h) {
            const std::size_t kv = kv_head_for(h, w.n_heads, w.n_kv_heads);
            const AttentionGradients a =
                attention_backward(xt::view(f.weights, h), xt::view(f.q, h), xt::view(f.k, kv),
                                   xt::view(f.v, kv), xt::view(d_heads, h));
            xt::view(dq_s, h) = a.dq;
            xt::view(dk_s, kv) += a.dk;  // query heads that share a key/value head add up
            xt::view(dv_s, kv) += a.dv;
        }
        // split_heads took column blocks: its gradient puts them back (a merge).
        xt::view(dq, xt::range(first, last), xt::all()) = merge_heads(dq_s);
        xt::view(dk, xt::range(first, last), xt::all()) = merge_heads(dk_s);
        xt::view(dv, xt::range(first, last), xt::all()) = merge_heads(dv_s);
    }
    const LinearGradients gq = linear_backward(x, w.w_q, dq);
    const LinearGradients gk = linear_backward(x, w.w_k, dk);
    const LinearGradients gv = linear_backward(x, w.w_v, dv);
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

RmsNormGradients rms_norm_backward(const Matrix& x, const Vector& gain, const Matrix& dy,
                                   float eps) {
    constexpr const char* fn = "attn::rms_norm_backward";
    check_shape(fn, "x", x, {any("T"), any("d")});
    const std::size_t T = x.shape(0), d = x.shape(1);
    check_shape(fn, "gain", gain, {exactly("d", d)});
    check_shape(fn, "dy", dy, {exactly("T", T), exactly("d", d)});
    RmsNormGradients g{xt::zeros<float>({T, d}), xt::zeros<float>({d})};
    for (std::size_t t = 0; t < T; ++t) {
        // r as the forward pass computes it, in double.
        double mean_square = 0.0;
        for (std::size_t i = 0; i < d; ++i) mean_square += static_cast<double>(x(t, i)) * x(t, i);
        const double r = std::sqrt(mean_square / static_cast<double>(d) + eps);
        double mean_u_x = 0.0;
        for (std::size_t i = 0; i < d; ++i) {
            mean_u_x += static_cast<double>(dy(t, i)) * gain(i) * x(t, i);
            g.dgain(i) += static_cast<float>(dy(t, i) * x(t, i) / r);
        }
        mean_u_x /= static_cast<double>(d);
        for (std::size_t i = 0; i < d; ++i) {
            const double u = static_cast<double>(dy(t, i)) * gain(i);
            g.dx(t, i) = static_cast<float>((u - x(t, i) * mean_u_x / (r * r)) / r);
        }
    }
    return g;
}

void rope_rotate_back(float* x, std::size_t d, const float* cos, const float* sin) {
    for (std::size_t i = 0; i < d / 2; ++i) {
        const float a = x[2 * i], b = x[2 * i + 1];
        x[2 * i] = a * cos[i] + b * sin[i];  // the transpose of rope_rotate()'s rotation
        x[2 * i + 1] = -a * sin[i] + b * cos[i];
    }
}

Matrix rope_backward(const Matrix& dy, std::size_t first_position, float theta) {
    constexpr const char* fn = "attn::rope_backward";
    check_shape(fn, "dy", dy, {any("T"), any("d")});
    const std::size_t T = dy.shape(0), d = dy.shape(1);
    if (d % 2 != 0) invalid_argument(fn, "d = " + std::to_string(d) + " must be even");
    Matrix dx = dy;
    if (T == 0) return dx;
    const RopeTables r = rope_tables(first_position, T, d, theta);
    for (std::size_t t = 0; t < T; ++t) rope_rotate_back(&dx(t, 0), d, &r.cos(t, 0), &r.sin(t, 0));
    return dx;
}

SiluGateGradients silu_gate_backward(const Matrix& gate, const Matrix& up, const Matrix& dy) {
    constexpr const char* fn = "attn::silu_gate_backward";
    check_shape(fn, "gate", gate, {any("T"), any("hidden")});
    check_shape(fn, "up", up, {exactly("T", gate.shape(0)), exactly("hidden", gate.shape(1))});
    check_shape(fn, "dy", dy, {exactly("T", gate.shape(0)), exactly("hidden", gate.shape(1))});
    const Matrix sigmoid = 1.0f / (1.0f + xt::exp(-gate));
    return {dy * up * sigmoid * (1.0f + gate * (1.0f - sigmoid)), dy * gate * sigmoid};
}

namespace {

// tanh of n values in place: e^{2u} for all of them in one vectorised loop (chapter 07's
// exp_row, with no maximum to subtract), then tanh u = 1 - 2 / (e^{2u} + 1). Beyond |u| = 44
// the exponential is clamped, and the result is -1 or 1, as tanh's is in float.
void tanh_in_place(float* u, std::size_t n) {
    for (std::size_t i = 0; i < n; ++i) u[i] *= 2.0f;
    exp_row(u, n, 0.0f);
    for (std::size_t i = 0; i < n; ++i) u[i] = 1.0f - 2.0f / (u[i] + 1.0f);
}

constexpr float gelu_c = 0.7978845608f;  // sqrt(2 / pi)

// tanh(sqrt(2/pi) (x + 0.044715 x^3)) for every element of x.
Matrix gelu_tanh(const Matrix& x) {
    Matrix th = gelu_c * (x + 0.044715f * x * x * x);
    tanh_in_place(th.data(), th.size());
    return th;
}

}  // namespace

Matrix gelu_backward(const Matrix& x, const Matrix& dy) {
    constexpr const char* fn = "attn::gelu_backward";
    check_shape(fn, "x", x, {any("T"), any("d")});
    check_shape(fn, "dy", dy, {exactly("T", x.shape(0)), exactly("d", x.shape(1))});
    const Matrix th = gelu_tanh(x);
    // The product rule on x/2 (1 + tanh u), and the chain rule through tanh and u.
    return dy * (0.5f * (1.0f + th) +
                 0.5f * x * (1.0f - th * th) * gelu_c * (1.0f + 3.0f * 0.044715f * x * x));
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
