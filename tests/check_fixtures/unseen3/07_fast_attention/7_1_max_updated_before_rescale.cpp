// answers: 7.1
// expect 7.1: failing
// mistake: when a larger logit arrives the maximum is updated before the running sum is rescaled, so the factor e^(m - x) is always e^0 = 1 and the old terms keep their scale relative to the old maximum (the sum is too large whenever the maximum rises after the first logit).
// part: order of operations in the new-maximum branch
#include "exercises.hpp"

#include <cmath>
#include <limits>

namespace attn::ex07 {

SoftmaxState softmax_state(const Vector& logits) {
    SoftmaxState s;
    for (std::size_t i = 0; i < logits.size(); ++i) {
        const float x = logits(i);
        if (x == -std::numeric_limits<float>::infinity()) continue;
        if (x > s.max) {
            s.max = x;
            s.sum = s.sum * std::exp(s.max - x) + 1.0f;
        } else {
            s.sum += std::exp(x - s.max);
        }
    }
    return s;
}

}  // namespace attn::ex07
