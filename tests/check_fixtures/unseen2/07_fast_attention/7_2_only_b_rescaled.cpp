// answers: 7.2
// expect 7.2: failing
// mistake: only b's sum is rescaled to the merged maximum, a's is added as it is (l = l_a + l_b e^(m_b - m)); right only when a holds the larger maximum
// part: rescaling both sums
#include "exercises.hpp"

#include <algorithm>
#include <cmath>
#include <limits>

namespace attn::ex07 {

SoftmaxState merge_states(const SoftmaxState& a, const SoftmaxState& b) {
    const float m = std::max(a.max, b.max);
    if (m == -std::numeric_limits<float>::infinity()) return SoftmaxState{};
    SoftmaxState merged;
    merged.max = m;
    merged.sum = a.sum + b.sum * std::exp(b.max - m);
    return merged;
}

}  // namespace attn::ex07
