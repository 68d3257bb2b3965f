// answers: 3.2
// expect 3.2: failing: xt::amax of an all -inf row returns -3.40282e+38
// Tests the maximum for -inf, which xt::amax never returns: the fully masked row becomes 0/0.
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
        const float m = xt::amax(row)();
        if (m == -inf) continue;
        Vector e = xt::exp(row - m);
        xt::row(out, i) = e / xt::sum(e)();
    }
    return out;
}

}  // namespace attn::ex03
