// answers: 11.2
// expect 11.2: passing
// The hint followed literally: both factors, an empty output counted as zeros.
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
    const float m = std::max(into.max, other.max);
    if (m == -std::numeric_limits<float>::infinity()) return;
    const float alpha = std::exp(into.max - m);
    const float beta = std::exp(other.max - m);
    if (into.out.empty()) into.out.assign(other.out.size(), 0.0f);
    into.sum = alpha * into.sum + beta * other.sum;
    for (std::size_t i = 0; i < into.out.size(); ++i) {
        const float o_b = other.out.empty() ? 0.0f : other.out[i];
        into.out[i] = alpha * into.out[i] + beta * o_b;
    }
    into.max = m;
}

}  // namespace attn::ex11
