// answers: 1.2
// expect 1.2: failing
// mistake: subtracts the maximum from the caller's logits in place through const_cast, so the returned weights are right but the input vector is left shifted by its maximum.
// part: the max subtraction (writes into the const input)
#include "exercises.hpp"

#include <xtensor/xmath.hpp>

namespace attn::ex01 {

Vector stable_softmax(const Vector& logits) {
    check_shape("attn::ex01::stable_softmax", "logits", logits, {any("T")});
    // Shift in place to avoid a copy.
    Vector& x = const_cast<Vector&>(logits);
    const float m = xt::amax(x)();
    x -= m;
    Vector e = xt::exp(x);
    const float sum = xt::sum(e)();
    Vector w = e / sum;
    return w;
}

}  // namespace attn::ex01
