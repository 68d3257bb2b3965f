// answers: 11.2
// expect 11.2: failing: merged with the smaller maximum
// Takes the smaller of the two maxima as the merged one.
#include "exercises.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <string>

namespace attn::ex11 {

void merge_partials(PartialAttention& into, const PartialAttention& other) {
    if (!into.out.empty() && !other.out.empty() && into.out.size() != other.out.size())
        invalid_argument("attn::ex11::merge_partials",
                         "into.out has " + std::to_string(into.out.size()) +
                             " numbers, other.out has " + std::to_string(other.out.size()));
    const float m = std::min(into.max, other.max);
    if (m == -std::numeric_limits<float>::infinity()) return;
    const float a = std::exp(into.max - m), b = std::exp(other.max - m);
    if (into.out.empty()) into.out.assign(other.out.size(), 0.0f);
    into.sum = into.sum * a + other.sum * b;
    for (std::size_t i = 0; i < into.out.size(); ++i)
        into.out[i] = into.out[i] * a + (other.out.empty() ? 0.0f : other.out[i] * b);
    into.max = m;
}

}  // namespace attn::ex11
