// answers: 7.1
// expect 7.1: failing: the running sum was not rescaled
// Adds 1 for a new maximum, leaving the old terms relative to the old one.
#include "exercises.hpp"

#include <cmath>

namespace attn::ex07 {

SoftmaxState softmax_state(const Vector& logits) {
    SoftmaxState s;
    for (float x : logits) {
        if (x > s.max) {
            s.sum = s.sum + 1.0f;
            s.max = x;
        } else if (x != -std::numeric_limits<float>::infinity()) {
            s.sum += std::exp(x - s.max);
        }
    }
    return s;
}

}  // namespace attn::ex07
