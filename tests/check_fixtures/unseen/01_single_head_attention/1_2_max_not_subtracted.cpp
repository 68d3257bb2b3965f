// answers: 1.2
// expect 1.2: failing
// mistake: the maximum is never subtracted before xt::exp, so large logits such as 1e4 overflow to inf and the weights become NaN
// part: max subtraction before exp
#include "exercises.hpp"

#include <xtensor/xmath.hpp>

namespace attn::ex01 {

Vector stable_softmax(const Vector& logits) {
    check_shape("attn::ex01::stable_softmax", "logits", logits, {any("T")});
    Vector e = xt::exp(logits);
    const float sum = xt::sum(e)();
    return e / sum;
}

}  // namespace attn::ex01
