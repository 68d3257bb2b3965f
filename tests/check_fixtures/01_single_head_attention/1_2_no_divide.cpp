// answers: 1.2
// expect 1.2: failing: without dividing
// Forgets the denominator.
#include "exercises.hpp"

namespace attn::ex01 {

Vector stable_softmax(const Vector& logits) {
    check_shape("attn::ex01::stable_softmax", "logits", logits, {any("T")});
    return xt::exp(logits - xt::amax(logits)());
}

}  // namespace attn::ex01
