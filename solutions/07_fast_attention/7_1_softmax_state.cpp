// Exercise 7.1, reference answer.
#include "exercises.hpp"

#include <cmath>

namespace attn::ex07 {

SoftmaxState softmax_state(const Vector& logits) {
    SoftmaxState s;
    for (float x : logits) {
        if (x > s.max) {
            s.sum = s.sum * std::exp(s.max - x) + 1.0f;  // old terms, relative to the new maximum
            s.max = x;
        } else if (x != -std::numeric_limits<float>::infinity()) {
            s.sum += std::exp(x - s.max);
        }
    }
    return s;
}

}  // namespace attn::ex07
