// answers: 3.2
// expect 3.2: failing: masked scores set to 0 instead of -inf
// Masks with 0: e^0 = 1 still gives the masked keys weight.
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
        Vector row = xt::where(xt::row(allowed, i), xt::row(scores, i), 0.0f);
        Vector e = xt::exp(row - xt::amax(row)());
        xt::row(out, i) = e / xt::sum(e)();
        (void)inf;
    }
    return out;
}

}  // namespace attn::ex03
