// answers: 11.2
// expect 11.2: failing
// mistake: updates into.max and into.sum before it compares the output sizes, so when the sizes differ it throws the right error but leaves into half-merged (new max and sum, old out) instead of unchanged.
// part: size check before changing anything
#include "exercises.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <string>

namespace attn::ex11 {

void merge_partials(PartialAttention& into, const PartialAttention& other) {
    const float m = std::max(into.max, other.max);
    if (m == -std::numeric_limits<float>::infinity()) return;  // two empty parts
    const float a = std::exp(into.max - m);
    const float b = std::exp(other.max - m);
    into.max = m;
    into.sum = a * into.sum + b * other.sum;
    if (into.out.empty()) into.out.assign(other.out.size(), 0.0f);
    if (!other.out.empty() && other.out.size() != into.out.size()) {
        invalid_argument("merge_partials", "into.out has " + std::to_string(into.out.size()) +
                                               " numbers, other.out " +
                                               std::to_string(other.out.size()));
    }
    for (std::size_t i = 0; i < into.out.size(); ++i) {
        const float o_b = other.out.empty() ? 0.0f : other.out[i];
        into.out[i] = a * into.out[i] + b * o_b;
    }
}

}  // namespace attn::ex11
