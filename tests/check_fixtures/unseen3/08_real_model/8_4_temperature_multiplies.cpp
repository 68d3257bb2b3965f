// answers: 8.4
// expect 8.4: failing
// mistake: the logits are multiplied by the temperature instead of divided by it, so a temperature below 1 flattens the distribution and one above 1 sharpens it (the opposite); right only at temperature 1.
// part: the temperature scaling before the softmax
#include "exercises.hpp"

#include "chapters/01_single_head_attention/single_head_attention.hpp"

#include <algorithm>
#include <numeric>
#include <string>

namespace attn::ex08 {

std::size_t sample_top_p(const Vector& logits, float temperature, float top_p, float coin) {
    constexpr const char* fn = "attn::ex08::sample_top_p";
    check_shape(fn, "logits", logits, {any("vocab_size")});
    if (!(temperature > 0.0f))
        invalid_argument(fn, "temperature = " + std::to_string(temperature) + " must be above 0");
    if (!(top_p > 0.0f && top_p <= 1.0f))
        invalid_argument(fn, "top_p = " + std::to_string(top_p) + " must be in (0, 1]");
    const Vector scaled = logits * temperature;
    const Vector p = attn::softmax(scaled);
    const std::size_t n = p.size();
    std::vector<std::size_t> order(n);
    std::iota(order.begin(), order.end(), std::size_t{0});
    std::stable_sort(order.begin(), order.end(),
                     [&](std::size_t a, std::size_t b) { return p(a) > p(b); });
    float mass = 0.0f;
    std::size_t kept = 0;
    while (kept < n) {
        mass += p(order[kept]);
        ++kept;
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
