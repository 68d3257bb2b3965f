// answers: 7.2
// expect 7.2: failing
// mistake: two empty states are not handled first, so -inf - -inf makes the exponents NaN and the merged sum is NaN instead of 0
// part: merging two empty states
#include "exercises.hpp"

#include <algorithm>
#include <cmath>

namespace attn::ex07 {

SoftmaxState merge_states(const SoftmaxState& a, const SoftmaxState& b) {
    const float m = std::max(a.max, b.max);
    return {m, a.sum * std::exp(a.max - m) + b.sum * std::exp(b.max - m)};
}

}  // namespace attn::ex07
