// answers: 3.2
// expect 3.2: failing
// mistake: a row that allows nothing is detected by testing xt::amax for infinity, but xt::amax of an all -inf row is the lowest float, not -inf, so such a row computes 0/0 and is NaN instead of all zeros.
// part: the all-masked row test
#include "exercises.hpp"

#include <xtensor/xbuilder.hpp>
#include <xtensor/xmath.hpp>
#include <xtensor/xview.hpp>

#include <cmath>
#include <limits>

namespace attn::ex03 {

Matrix masked_softmax(const Matrix& scores, const Mask& allowed) {
    constexpr const char* fn = "attn::ex03::masked_softmax";
    check_shape(fn, "scores", scores, {any("T_q"), any("T_k")});
    check_shape(fn, "allowed", allowed,
                {exactly("T_q", scores.shape(0)), exactly("T_k", scores.shape(1))});
    const float neg_inf = -std::numeric_limits<float>::infinity();
    Matrix s = scores;
    for (std::size_t i = 0; i < s.shape(0); ++i)
        for (std::size_t j = 0; j < s.shape(1); ++j)
            if (!allowed(i, j)) s(i, j) = neg_inf;
    Matrix w = xt::zeros<float>({s.shape(0), s.shape(1)});
    for (std::size_t i = 0; i < s.shape(0); ++i) {
        const Vector row = xt::row(s, i);
        const float m = xt::amax(row)();
        if (std::isinf(m)) continue;  // nothing allowed: leave the zeros
        const Vector e = xt::exp(row - m);
        const float sum = xt::sum(e)();
        xt::row(w, i) = e / sum;
    }
    return w;
}

}  // namespace attn::ex03
