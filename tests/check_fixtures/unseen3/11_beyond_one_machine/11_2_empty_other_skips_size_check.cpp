// answers: 11.2
// expect 11.2: failing
// mistake: returns as soon as other is empty (max -inf), before comparing the sizes, so an empty other whose out holds zeros of another size (e.g. into.out of 2 numbers, other = (-inf, 0, {0, 0, 0})) is accepted instead of throwing.
// part: size check when one side is an empty state
#include "exercises.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <string>

namespace attn::ex11 {

void merge_partials(PartialAttention& into, const PartialAttention& other) {
    constexpr float neg_inf = -std::numeric_limits<float>::infinity();
    if (other.max == neg_inf) return;  // an empty part adds nothing
    if (!into.out.empty() && into.out.size() != other.out.size()) {
        invalid_argument("merge_partials", "into.out has " + std::to_string(into.out.size()) +
                                               " numbers, other.out " +
                                               std::to_string(other.out.size()));
    }
    if (into.max == neg_inf) {
        into = other;
        return;
    }
    const float m = std::max(into.max, other.max);
    const float a = std::exp(into.max - m);
    const float b = std::exp(other.max - m);
    into.sum = a * into.sum + b * other.sum;
    for (std::size_t i = 0; i < into.out.size(); ++i)
        into.out[i] = a * into.out[i] + b * other.out[i];
    into.max = m;
}

}  // namespace attn::ex11
