// answers: 7.3
// expect 7.3: failing
// mistake: the row's running maximum is overwritten with the new one before the correction factor is computed, so e^(m - m') is always e^0 = 1 and neither the running sum nor the running output is rescaled when a later key tile raises the maximum; right when a row's maximum is in its first tile (e.g. block >= T)
// part: the order of the max update and the rescale
#include "exercises.hpp"

#include <xtensor-blas/xlinalg.hpp>
#include <xtensor/xbuilder.hpp>
#include <xtensor/xmanipulation.hpp>
#include <xtensor/xview.hpp>

#include <algorithm>
#include <cmath>
#include <limits>
#include <string>
#include <vector>

namespace attn::ex07 {

Matrix tiled_attention(const Matrix& q, const Matrix& k, const Matrix& v, bool causal,
                       std::size_t block) {
    constexpr const char* fn = "attn::ex07::tiled_attention";
    check_shape(fn, "q", q, {any("T"), any("d")});
    const std::size_t T = q.shape(0), d = q.shape(1);
    check_shape(fn, "k", k, {exactly("T", T), exactly("d", d)});
    check_shape(fn, "v", v, {exactly("T", T), any("d_v")});
    if (block == 0) attn::invalid_argument(fn, "block = 0: a tile needs at least one row");
    const std::size_t d_v = v.shape(1);
    const float scale = 1.0f / std::sqrt(static_cast<float>(d));
    const float neg_inf = -std::numeric_limits<float>::infinity();

    Matrix out = xt::zeros<float>({T, d_v});
    for (std::size_t q0 = 0; q0 < T; q0 += block) {
        const std::size_t q1 = std::min(q0 + block, T), nq = q1 - q0;
        const Matrix qi = xt::view(q, xt::range(q0, q1), xt::all());
        std::vector<float> m(nq, neg_inf), l(nq, 0.0f);
        Matrix o = xt::zeros<float>({nq, d_v});
        for (std::size_t k0 = 0; k0 < T; k0 += block) {
            if (causal && k0 >= q1) break;  // this key block and the next are all in the future
            const std::size_t k1 = std::min(k0 + block, T), nk = k1 - k0;
            const Matrix kj = xt::view(k, xt::range(k0, k1), xt::all());
            Matrix s = xt::linalg::dot(qi, xt::transpose(kj));
            s *= scale;
            for (std::size_t i = 0; i < nq; ++i) {
                float tile_max = neg_inf;
                for (std::size_t j = 0; j < nk; ++j) {
                    if (causal && k0 + j > q0 + i) s(i, j) = neg_inf;
                    tile_max = std::max(tile_max, s(i, j));
                }
                if (tile_max == neg_inf) continue;  // nothing visible in this tile
                const float m_new = std::max(m[i], tile_max);
                m[i] = m_new;
                const float correction = std::exp(m[i] - m_new);  // old maximum - new maximum
                l[i] *= correction;
                for (std::size_t c = 0; c < d_v; ++c) o(i, c) *= correction;
                for (std::size_t j = 0; j < nk; ++j) {
                    if (s(i, j) == neg_inf) continue;
                    const float p = std::exp(s(i, j) - m_new);
                    l[i] += p;
                    for (std::size_t c = 0; c < d_v; ++c) o(i, c) += p * v(k0 + j, c);
                }
            }
        }
        for (std::size_t i = 0; i < nq; ++i)
            for (std::size_t c = 0; c < d_v; ++c) out(q0 + i, c) = o(i, c) / l[i];
    }
    return out;
}

}  // namespace attn::ex07
