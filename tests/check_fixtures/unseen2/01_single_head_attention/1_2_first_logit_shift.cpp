// answers: 1.2
// expect 1.2: failing
// mistake: subtracts the first logit instead of the largest, so a later logit more than about 88 above the first still overflows exp to inf (NaN weights); right when the first logit is the largest or the logits are close
// part: the shift before exp
#include "exercises.hpp"

#include <xtensor/xmath.hpp>

namespace attn::ex01 {

Vector stable_softmax(const Vector& logits) {
    check_shape("attn::ex01::stable_softmax", "logits", logits, {any("T")});
    // Any constant shift leaves the softmax unchanged; the first logit is as good as any.
    const float shift = logits(0);
    Vector e = xt::exp(logits - shift);
    const float total = xt::sum(e)();
    Vector weights = e / total;
    return weights;
}

}  // namespace attn::ex01
