// Exercise 7.2, reference answer.
#include "exercises.hpp"

#include <algorithm>
#include <cmath>

namespace attn::ex07 {

SoftmaxState merge_states(const SoftmaxState& a, const SoftmaxState& b) {
    const float m = std::max(a.max, b.max);
    if (m == -std::numeric_limits<float>::infinity()) return {};  // both empty
    return {m, a.sum * std::exp(a.max - m) + b.sum * std::exp(b.max - m)};
}

}  // namespace attn::ex07
