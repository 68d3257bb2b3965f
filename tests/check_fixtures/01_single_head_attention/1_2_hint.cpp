// answers: 1.2
// expect 1.2: passing
// The hint followed literally: xt::amax(logits)(), xt::exp, xt::sum(e)().
#include "exercises.hpp"

namespace attn::ex01 {

Vector stable_softmax(const Vector& logits) {
    check_shape("attn::ex01::stable_softmax", "logits", logits, {any("T")});
    const float m = xt::amax(logits)();
    Vector e = xt::exp(logits - m);
    return e / xt::sum(e)();
}

}  // namespace attn::ex01
