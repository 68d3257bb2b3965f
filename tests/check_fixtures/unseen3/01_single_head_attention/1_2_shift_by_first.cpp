// answers: 1.2
// expect 1.2: failing
// mistake: subtracts the first logit instead of the largest, so the exponents are only bounded when logits(0) is the maximum; a later logit more than ~88 above the first overflows to inf and the result is NaN.
// part: the shift before the exponential
#include "exercises.hpp"

#include <xtensor/xmath.hpp>

namespace attn::ex01 {

Vector stable_softmax(const Vector& logits) {
    check_shape("attn::ex01::stable_softmax", "logits", logits, {any("T")});
    // Any constant can be subtracted without changing the softmax: use the first logit.
    const float shift = logits(0);
    Vector e = xt::exp(logits - shift);
    const float sum = xt::sum(e)();
    Vector w = e / sum;
    return w;
}

}  // namespace attn::ex01
