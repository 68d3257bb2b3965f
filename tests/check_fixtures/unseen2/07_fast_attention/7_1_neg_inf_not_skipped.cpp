// answers: 7.1
// expect 7.1: failing
// mistake: a -inf logit is not skipped: seen before any finite logit it adds e^(-inf - (-inf)) = NaN to the sum; right for every stream of finite logits
// part: -inf logits
#include "exercises.hpp"

#include <cmath>

namespace attn::ex07 {

SoftmaxState softmax_state(const Vector& logits) {
    SoftmaxState s;
    for (std::size_t i = 0; i < logits.size(); ++i) {
        const float x = logits(i);
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
