// answers: 7.3
// expect 7.3: failing
// mistake: the number of query blocks is T / block, rounded down, so when block does not divide T the last, shorter block is never computed and its rows stay 0 (and with block > T nothing is computed at all)
// part: loop over query blocks: last partial block
#include "exercises.hpp"

#include <xtensor-blas/xlinalg.hpp>
#include <xtensor/xbuilder.hpp>
#include <xtensor/xview.hpp>

#include <algorithm>
#include <cmath>
#include <limits>

namespace attn::ex07 {

Matrix tiled_attention(const Matrix& q, const Matrix& k, const Matrix& v, bool causal,
                       std::size_t block) {
    constexpr const char* fn = "attn::ex07::tiled_attention";
    check_shape(fn, "q", q, {any("T"), any("d")});
    check_shape(fn, "k", k, {exactly("T", q.shape(0)), exactly("d", q.shape(1))});
    check_shape(fn, "v", v, {exactly("T", q.shape(0)), any("d_v")});
    if (block == 0) invalid_argument(fn, "block must be at least 1, got 0");
    const std::size_t T = q.shape(0), d_v = v.shape(1);
    const float scale = 1.0f / std::sqrt(static_cast<float>(q.shape(1)));
    const float minus_inf = -std::numeric_limits<float>::infinity();

    Matrix out = xt::zeros<float>({T, d_v});
    for (std::size_t b = 0; b < T / block; ++b) {
        const std::size_t i0 = b * block;
        const std::size_t i1 = std::min(i0 + block, T);
        const Matrix q_block = xt::view(q, xt::range(i0, i1), xt::all());
        Vector row_max = xt::zeros<float>({i1 - i0});
        row_max.fill(minus_inf);
        Vector row_sum = xt::zeros<float>({i1 - i0});
        Matrix acc = xt::zeros<float>({i1 - i0, d_v});
        const std::size_t k_end = causal ? i1 : T;
        for (std::size_t j0 = 0; j0 < k_end; j0 += block) {
            const std::size_t j1 = std::min(j0 + block, k_end);
            const Matrix k_block = xt::view(k, xt::range(j0, j1), xt::all());
            const Matrix v_block = xt::view(v, xt::range(j0, j1), xt::all());
            Matrix s = xt::linalg::dot(q_block, xt::transpose(k_block));
            s *= scale;
            for (std::size_t i = 0; i < i1 - i0; ++i) {
                float m = row_max(i);
                for (std::size_t j = 0; j < j1 - j0; ++j) {
                    if (causal && j0 + j > i0 + i) s(i, j) = minus_inf;
                    m = std::max(m, s(i, j));
                }
                if (m == minus_inf) {
                    xt::row(s, i) = 0.0f;
                    continue;
                }
                const float rescale = std::exp(row_max(i) - m);
                for (std::size_t j = 0; j < j1 - j0; ++j) s(i, j) = std::exp(s(i, j) - m);
                row_sum(i) = row_sum(i) * rescale + xt::sum(xt::row(s, i))();
                xt::row(acc, i) *= rescale;
                row_max(i) = m;
            }
            acc += xt::linalg::dot(s, v_block);
        }
        for (std::size_t i = 0; i < i1 - i0; ++i)
            if (row_sum(i) > 0) xt::row(out, i0 + i) = xt::row(acc, i) / row_sum(i);
    }
    return out;
}

}  // namespace attn::ex07
