// answers: 1.2
// expect 1.2: failing: overflow
// The textbook formula without the maximum: e^x overflows for large logits.
#include "exercises.hpp"

namespace attn::ex01 {

Vector stable_softmax(const Vector& logits) {
    check_shape("attn::ex01::stable_softmax", "logits", logits, {any("T")});
    Vector e = xt::exp(logits);
    return e / xt::sum(e)();
}

}  // namespace attn::ex01
