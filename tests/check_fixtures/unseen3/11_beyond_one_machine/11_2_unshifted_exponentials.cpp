// answers: 11.2
// expect 11.2: failing
// mistake: brings both parts back to e^(s_j) by multiplying with e^(m_a) and e^(m_b) and then divides by e^(m), which is right in exact arithmetic and on the worked example, but e^(m) overflows float for maxima above about 88 (and underflows below about -103), giving inf / inf = NaN.
// part: rescaling by e^(m_a - m) in one step
#include "exercises.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <string>

namespace attn::ex11 {

void merge_partials(PartialAttention& into, const PartialAttention& other) {
    if (!into.out.empty() && !other.out.empty() && into.out.size() != other.out.size()) {
        invalid_argument("merge_partials", "into.out has " + std::to_string(into.out.size()) +
                                               " numbers, other.out " +
                                               std::to_string(other.out.size()));
    }
    const float m = std::max(into.max, other.max);
    if (m == -std::numeric_limits<float>::infinity()) return;  // two empty parts
    if (into.out.empty()) into.out.assign(other.out.size(), 0.0f);
    // Undo each part's own maximum (e^(s - m_a) * e^(m_a) = e^s), add, then measure against m.
    const float e_a = std::exp(into.max);
    const float e_b = std::exp(other.max);
    const float e_m = std::exp(m);
    into.sum = (into.sum * e_a + other.sum * e_b) / e_m;
    for (std::size_t i = 0; i < into.out.size(); ++i) {
        const float o_b = other.out.empty() ? 0.0f : other.out[i];
        into.out[i] = (into.out[i] * e_a + o_b * e_b) / e_m;
    }
    into.max = m;
}

}  // namespace attn::ex11
