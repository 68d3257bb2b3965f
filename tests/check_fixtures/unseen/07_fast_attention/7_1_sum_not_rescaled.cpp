// answers: 7.1
// expect 7.1: failing
// mistake: when a new maximum arrives the running sum gets + 1 but the terms already in it are not rescaled by e^(old max - new max)
// part: rescaling the running sum
#include "exercises.hpp"

#include <cmath>

namespace attn::ex07 {

SoftmaxState softmax_state(const Vector& logits) {
    SoftmaxState s;
    for (float x : logits) {
        if (x > s.max) {
            s.sum += 1.0f;
            s.max = x;
        } else {
            s.sum += std::exp(x - s.max);
        }
    }
    return s;
}

}  // namespace attn::ex07
