// answers: 1.2
// expect 1.2: failing: divided by another sum
// Divides e^(x - max) by the sum of e^x: a sum, but not of the same exponentials.
#include "exercises.hpp"

namespace attn::ex01 {

Vector stable_softmax(const Vector& logits) {
    check_shape("attn::ex01::stable_softmax", "logits", logits, {any("T")});
    Vector e = xt::exp(logits - xt::amax(logits)());
    return e / xt::sum(xt::exp(logits))();
}

}  // namespace attn::ex01
