// answers: 3.2
// expect 3.2: failing: mask applied after the softmax
// Softmax over every key, then zeroes the masked weights.
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
        Vector row = xt::row(scores, i);
        Vector e = xt::exp(row - xt::amax(row)());
        Vector w = e / xt::sum(e)();
        xt::row(out, i) = xt::where(xt::row(allowed, i), w, 0.0f);
        (void)inf;
    }
    return out;
}

}  // namespace attn::ex03
