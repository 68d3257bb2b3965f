// answers: 8.4
// expect 8.4: failing
// mistake: the tokens are sorted as (probability, id) pairs in descending order, so among equal probabilities the higher id comes first instead of the lower one
// part: tie-breaking in the sort
#include "exercises.hpp"

#include "chapters/01_single_head_attention/single_head_attention.hpp"

#include <algorithm>
#include <functional>
#include <numeric>
#include <utility>

namespace attn::ex08 {

std::size_t sample_top_p(const Vector& logits, float temperature, float top_p, float coin) {
    constexpr const char* fn = "attn::ex08::sample_top_p";
    check_shape(fn, "logits", logits, {any("vocab_size")});
    if (!(temperature > 0.0f))
        invalid_argument(fn, "temperature must be above 0, got " + std::to_string(temperature));
    if (!(top_p > 0.0f && top_p <= 1.0f))
        invalid_argument(fn, "top_p must be in (0, 1], got " + std::to_string(top_p));
    const Vector p = softmax(logits / temperature);
    std::vector<std::pair<float, std::size_t>> ranked;
    for (std::size_t i = 0; i < p.size(); ++i) ranked.emplace_back(p(i), i);
    std::sort(ranked.begin(), ranked.end(), std::greater<>());
    std::vector<std::size_t> order;
    for (const auto& entry : ranked) order.push_back(entry.second);
    std::size_t kept = 0;
    float mass = 0.0f;
    while (kept < order.size()) {
        mass += p(order[kept++]);
        if (mass > top_p) break;
    }
    float r = coin * mass;
    for (std::size_t i = 0; i < kept; ++i) {
        r -= p(order[i]);
        if (r < 0.0f) return order[i];
    }
    return order[kept - 1];
}

}  // namespace attn::ex08
