// answers: 7.1
// expect 7.1: failing
// mistake: a -inf logit that arrives while the maximum is still -inf goes to the else branch and adds e^(-inf - -inf) = NaN, so a stream that starts with (or is all) -inf gives a NaN sum
// part: -inf logits before the first finite one
#include "exercises.hpp"

#include <cmath>

namespace attn::ex07 {

SoftmaxState softmax_state(const Vector& logits) {
    SoftmaxState s;
    for (float x : logits) {
        if (x > s.max) {
            s.sum = s.sum * std::exp(s.max - x) + 1.0f;  // old terms, relative to the new maximum
            s.max = x;
        } else {
            s.sum += std::exp(x - s.max);
        }
    }
    return s;
}

}  // namespace attn::ex07
