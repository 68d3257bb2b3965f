// answers: 1.2
// expect 1.2: failing: subtract the maximum logit, not another constant
// Subtracts the first logit instead of the maximum: fine until the logits are far apart.
#include "exercises.hpp"

namespace attn::ex01 {

Vector stable_softmax(const Vector& logits) {
    check_shape("attn::ex01::stable_softmax", "logits", logits, {any("T")});
    Vector e = xt::exp(logits - logits(0));
    return e / xt::sum(e)();
}

}  // namespace attn::ex01
