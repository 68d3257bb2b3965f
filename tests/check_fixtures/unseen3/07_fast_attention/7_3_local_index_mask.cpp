// answers: 7.3
// expect 7.3: failing
// mistake: the causal mask inside a tile compares the tile-local indices (c > r) in every tile, not only on the diagonal one, so in the earlier key tiles a query loses every key whose column in the tile is right of its row: wrong output when causal and T > block.
// part: the causal mask inside a tile (local instead of global indices)
#include "exercises.hpp"

#include <xtensor-blas/xlinalg.hpp>
#include <xtensor/xbuilder.hpp>
#include <xtensor/xview.hpp>

#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

namespace attn::ex07 {

Matrix tiled_attention(const Matrix& q, const Matrix& k, const Matrix& v, bool causal,
                       std::size_t block) {
    constexpr const char* fn = "attn::ex07::tiled_attention";
    check_shape(fn, "q", q, {any("T"), any("d")});
    const std::size_t T = q.shape(0), d = q.shape(1);
    check_shape(fn, "k", k, {exactly("T", T), exactly("d", d)});
    check_shape(fn, "v", v, {exactly("T", T), any("d_v")});
    if (block == 0) invalid_argument(fn, "block = 0: a tile needs at least one query and key");
    const std::size_t d_v = v.shape(1);
    const float neg_inf = -std::numeric_limits<float>::infinity();
    const float scale = 1.0f / std::sqrt(static_cast<float>(d));
    Matrix out = xt::zeros<float>({T, d_v});
    for (std::size_t i0 = 0; i0 < T; i0 += block) {
        const std::size_t i1 = std::min(i0 + block, T), n_i = i1 - i0;
        std::vector<float> m(n_i, -std::numeric_limits<float>::infinity()), l(n_i, 0.0f);
        Matrix o = xt::zeros<float>({n_i, d_v});
        const Matrix qi = xt::view(q, xt::range(i0, i1), xt::all());
        for (std::size_t j0 = 0; j0 < T; j0 += block) {
            if (causal && j0 > i1 - 1) break;  // wholly after the query block
            const std::size_t j1 = std::min(j0 + block, T), n_j = j1 - j0;
            const Matrix kj = xt::view(k, xt::range(j0, j1), xt::all());
            const Matrix vj = xt::view(v, xt::range(j0, j1), xt::all());
            Matrix s = xt::linalg::dot(qi, xt::transpose(kj));
            s *= scale;
            for (std::size_t r = 0; r < n_i; ++r) {
                float new_max = m[r];
                for (std::size_t c = 0; c < n_j; ++c) {
                    if (causal && c > r) s(r, c) = neg_inf;
                    new_max = std::max(new_max, s(r, c));
                }
                if (new_max == neg_inf) continue;  // nothing visible in this tile yet
                const float alpha = std::exp(m[r] - new_max);
                l[r] *= alpha;
                for (std::size_t e = 0; e < d_v; ++e) o(r, e) *= alpha;
                for (std::size_t c = 0; c < n_j; ++c) {
                    const float p = std::exp(s(r, c) - new_max);
                    l[r] += p;
                    for (std::size_t e = 0; e < d_v; ++e) o(r, e) += p * vj(c, e);
                }
                m[r] = new_max;
            }
        }
        for (std::size_t r = 0; r < n_i; ++r)
            for (std::size_t e = 0; e < d_v; ++e) out(i0 + r, e) = o(r, e) / l[r];
    }
    return out;
}

}  // namespace attn::ex07
