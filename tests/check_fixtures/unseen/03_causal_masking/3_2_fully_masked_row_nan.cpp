// answers: 3.2
// expect 3.2: failing
// mistake: a row in which no key is allowed has exponentials that sum to 0 and is divided by that 0, giving NaN instead of a row of zeros
// part: fully masked row
#include "exercises.hpp"

#include <xtensor/xbuilder.hpp>
#include <xtensor/xmath.hpp>
#include <xtensor/xsort.hpp>
#include <xtensor/xview.hpp>

#include <limits>

namespace attn::ex03 {

Matrix masked_softmax(const Matrix& scores, const Mask& allowed) {
    check_shape("attn::ex03::masked_softmax", "scores", scores, {any("T_q"), any("T_k")});
    check_shape("attn::ex03::masked_softmax", "allowed", allowed,
                {exactly("T_q", scores.shape(0)), exactly("T_k", scores.shape(1))});
    const float minus_inf = -std::numeric_limits<float>::infinity();
    Matrix out = xt::zeros<float>(scores.shape());
    for (std::size_t i = 0; i < scores.shape(0); ++i) {
        Vector row = xt::row(scores, i);
        for (std::size_t j = 0; j < row.size(); ++j)
            if (!allowed(i, j)) row(j) = minus_inf;
        const float max = xt::amax(row)();
        const Vector e = xt::exp(row - max);
        const float sum = xt::sum(e)();
        xt::row(out, i) = e / sum;
    }
    return out;
}

}  // namespace attn::ex03
