#include "chapters/07_fast_attention/fast_attention.hpp"

#include "chapters/07_fast_attention/softmax_kernels.hpp"
#include "common/matmul.hpp"
#include "common/shape.hpp"

#include <xtensor/xbuilder.hpp>

#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

namespace attn {

namespace {
constexpr float minus_inf = -std::numeric_limits<float>::infinity();
}  // namespace

SoftmaxState softmax_state(const Vector& logits) {
    SoftmaxState s;
    for (float x : logits) {
        if (x > s.max) {
            s.sum =
                s.sum * std::exp(s.max - x) + 1.0f;  // the old terms, relative to the new maximum
            s.max = x;
        } else if (x != minus_inf) {
            s.sum += std::exp(x - s.max);  // NaN for a NaN logit, and it stays NaN
        }
    }
    // The + 1 above is e^(x - x) for the new maximum, but e^(inf - inf) is NaN, not 1: a +inf
    // logit has no finite softmax (chapter 01's softmax gives NaN too).
    if (s.max == std::numeric_limits<float>::infinity())
        s.sum = std::numeric_limits<float>::quiet_NaN();
    return s;
}

SoftmaxState merge_states(const SoftmaxState& a, const SoftmaxState& b) {
    const float m = std::max(a.max, b.max);
    // Both empty: -inf - -inf would be NaN. The sums are 0, or NaN from a NaN logit, kept.
    if (m == minus_inf) return {minus_inf, a.sum + b.sum};
    return {m, a.sum * std::exp(a.max - m) + b.sum * std::exp(b.max - m)};
}

Vector online_softmax(const Vector& logits) {
    check_shape("attn::online_softmax", "logits", logits, {any("n")});
    const SoftmaxState s = softmax_state(logits);
    // A NaN or a +inf logit makes every weight NaN, as in chapter 01's softmax.
    if (std::isnan(s.sum)) return xt::full_like(logits, std::numeric_limits<float>::quiet_NaN());
    if (s.max == minus_inf) return xt::zeros<float>(logits.shape());
    Vector w = xt::zeros<float>(logits.shape());
    for (std::size_t i = 0; i < logits.size(); ++i) w(i) = std::exp(logits(i) - s.max) / s.sum;
    return w;
}

std::size_t tiled_attention_workspace_bytes(std::size_t d_v, Tiles tiles) {
    return (tiles.queries * tiles.keys + tiles.queries * d_v + 2 * tiles.queries) * sizeof(float);
}

Matrix tiled_attention(const Matrix& q, const Matrix& k, const Matrix& v, bool causal,
                       const Mask* allowed, Tiles tiles) {
    constexpr const char* fn = "attn::tiled_attention";
    check_shape(fn, "q", q, {any("T_q"), any("d")});
    check_shape(fn, "k", k, {any("T_k"), exactly("d", q.shape(1))});
    check_shape(fn, "v", v, {exactly("T_k", k.shape(0)), any("d_v")});
    if (allowed)
        check_shape(fn, "allowed", *allowed,
                    {exactly("T_q", q.shape(0)), exactly("T_k", k.shape(0))});
    if (tiles.queries == 0 || tiles.keys == 0)
        invalid_argument(fn, "block sizes must be at least 1, got 0");
    const std::size_t T_q = q.shape(0), T_k = k.shape(0), d = q.shape(1), d_v = v.shape(1);
    const std::size_t Bq = tiles.queries, Bk = tiles.keys;
    const float scale = 1.0f / std::sqrt(static_cast<float>(d));

    Matrix out = xt::zeros<float>({T_q, d_v});
    std::vector<float> scores(Bq * Bk), acc(Bq * d_v), row_max(Bq), row_sum(Bq);
    for (std::size_t i0 = 0; i0 < T_q; i0 += Bq) {
        const std::size_t nq = std::min(Bq, T_q - i0);
        std::fill(row_max.begin(), row_max.end(), minus_inf);
        std::fill(row_sum.begin(), row_sum.end(), 0.0f);
        std::fill(acc.begin(), acc.end(), 0.0f);
        // Causal: the last key any query of this block may see is i0 + nq - 1.
        const std::size_t k_end = causal ? std::min(T_k, i0 + nq) : T_k;
        for (std::size_t j0 = 0; j0 < k_end; j0 += Bk) {
            const std::size_t nk = std::min(Bk, k_end - j0);
            // The tile of scores, [nq, nk] = Q_block K_block^T / sqrt(d).
            gemm(nq, nk, d, scale, q.data() + i0 * d, d, Read::as_stored, k.data() + j0 * d, d,
                 Read::transposed, 0.0f, scores.data(), nk);
            for (std::size_t i = 0; i < nq; ++i) {
                float* s = scores.data() + i * nk;
                // Only a tile that crosses the diagonal has keys in query i's future.
                if (causal && j0 + nk > i0 + i)
                    for (std::size_t j = i0 + i + 1 - std::min(i0 + i + 1, j0); j < nk; ++j)
                        s[j] = minus_inf;
                if (allowed)
                    for (std::size_t j = 0; j < nk; ++j)
                        if (!(*allowed)(i0 + i, j0 + j)) s[j] = minus_inf;
                const float m = std::max(row_max[i], row_maximum(s, nk));
                if (m == minus_inf) {  // nothing visible yet: this tile adds nothing
                    // unless a score is NaN (row_maximum skips NaN): then the row is NaN, as
                    // in chapter 03. The sum carries it; a key masked out is -inf, not NaN.
                    if (std::any_of(s, s + nk, [](float x) { return std::isnan(x); }))
                        row_sum[i] = std::numeric_limits<float>::quiet_NaN();
                    std::fill(s, s + nk, 0.0f);
                    continue;
                }
                // The factor from the old maximum to the new one (0 when the old was -inf)
                // rescales the running sum and output; the row of scores becomes P's row,
                // e^(s - m), its sum added to the running sum.
                const float rescale = fast_exp(row_max[i] - m);
                row_sum[i] = row_sum[i] * rescale + exp_row(s, nk, m);
                row_max[i] = m;
                scale_row(acc.data() + i * d_v, d_v, rescale);
            }
            // acc += P_tile V_block
            gemm(nq, d_v, nk, 1.0f, scores.data(), nk, Read::as_stored, v.data() + j0 * d_v, d_v,
                 Read::as_stored, 1.0f, acc.data(), d_v);
        }
        for (std::size_t i = 0; i < nq; ++i) {
            if (row_sum[i] == 0.0f) continue;  // a query that saw no key: zeros
            for (std::size_t c = 0; c < d_v; ++c) out(i0 + i, c) = acc[i * d_v + c] / row_sum[i];
        }
    }
    return out;
}

}  // namespace attn
