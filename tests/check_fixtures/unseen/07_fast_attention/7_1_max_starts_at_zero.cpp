// answers: 7.1
// expect 7.1: failing
// mistake: the running maximum starts at 0 instead of -inf, so for an empty stream or one whose logits are all negative the state's max is 0 instead of the largest logit
// part: initial running maximum
#include "exercises.hpp"

#include <cmath>

namespace attn::ex07 {

SoftmaxState softmax_state(const Vector& logits) {
    SoftmaxState s;
    s.max = 0.0f;
    for (float x : logits) {
        if (x > s.max) {
            s.sum = s.sum * std::exp(s.max - x) + 1.0f;
            s.max = x;
        } else {
            s.sum += std::exp(x - s.max);
        }
    }
    return s;
}

}  // namespace attn::ex07
