// answers: 7.1
// expect 7.1: failing
// mistake: the running maximum starts at 0 instead of -inf, so when every logit is negative (or the stream is empty) max stays 0 and the sum is measured against 0; right whenever some logit is at least 0
// part: the initial state
#include "exercises.hpp"

#include <cmath>
#include <limits>

namespace attn::ex07 {

SoftmaxState softmax_state(const Vector& logits) {
    SoftmaxState s{0.0f, 0.0f};
    for (std::size_t i = 0; i < logits.size(); ++i) {
        const float x = logits(i);
        if (x == -std::numeric_limits<float>::infinity()) continue;  // adds nothing
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
