// answers: 1.2
// expect 1.2: failing: the result has shape
// Returns a vector one element too long.
#include "exercises.hpp"

namespace attn::ex01 {

Vector stable_softmax(const Vector& logits) {
    check_shape("attn::ex01::stable_softmax", "logits", logits, {any("T")});
    Vector w = xt::zeros<float>({logits.size() + 1});
    w(0) = 1;
    return w;
}

}  // namespace attn::ex01
