// answers: 7.2
// expect 7.2: failing
// mistake: the rescaling exponents have the wrong sign, e^(m - m_a) instead of e^(m_a - m), which scales the smaller piece up instead of down (and gives NaN with an empty piece)
// part: sign of the rescaling exponent
#include "exercises.hpp"

#include <algorithm>
#include <cmath>

namespace attn::ex07 {

SoftmaxState merge_states(const SoftmaxState& a, const SoftmaxState& b) {
    const float m = std::max(a.max, b.max);
    if (m == -std::numeric_limits<float>::infinity()) return {};
    return {m, a.sum * std::exp(m - a.max) + b.sum * std::exp(m - b.max)};
}

}  // namespace attn::ex07
