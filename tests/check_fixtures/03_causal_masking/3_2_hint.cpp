// answers: 3.2
// expect 3.2: passing
// The hint followed literally: -inf, then chapter 01's stable softmax per row; a row whose exponentials sum to 0 stays zeros.
#include "exercises.hpp"

#include <limits>

namespace attn::ex03 {

Matrix masked_softmax(const Matrix& scores, const Mask& allowed) {
    check_shape("attn::ex03::masked_softmax", "scores", scores, {any("T_q"), any("T_k")});
    check_shape("attn::ex03::masked_softmax", "allowed", allowed,
                {exactly("T_q", scores.shape(0)), exactly("T_k", scores.shape(1))});
    const float inf = std::numeric_limits<float>::infinity();
    Matrix out = xt::zeros<float>(scores.shape());
    for (std::size_t i = 0; i < scores.shape(0); ++i) {
        Vector row = xt::where(xt::row(allowed, i), xt::row(scores, i), -inf);
        Vector e = xt::exp(row - xt::amax(row)());
        const float sum = xt::sum(e)();
        if (sum > 0) xt::row(out, i) = e / sum;
    }
    return out;
}

}  // namespace attn::ex03
