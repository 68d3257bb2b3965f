// answers: 7.2
// expect 7.2: failing
// mistake: the two sums are added as they are, without rescaling each to the common maximum
// part: rescaling the sums
#include "exercises.hpp"

#include <algorithm>
#include <cmath>

namespace attn::ex07 {

SoftmaxState merge_states(const SoftmaxState& a, const SoftmaxState& b) {
    const float m = std::max(a.max, b.max);
    if (m == -std::numeric_limits<float>::infinity()) return {};
    return {m, a.sum + b.sum};
}

}  // namespace attn::ex07
