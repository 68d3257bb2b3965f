// answers: 8.4
// expect 8.4: failing
// mistake: the walk starts from the coin itself instead of coin x (the kept mass), so the draw is not spread over the kept tokens in proportion (example: coin 0.62, kept mass 0.9 gives token 1 instead of 2); right when the kept mass is 1 (top_p = 1)
// part: scaling the coin by the kept mass
#include "exercises.hpp"

#include "chapters/01_single_head_attention/single_head_attention.hpp"

#include <algorithm>
#include <numeric>
#include <string>
#include <vector>

namespace attn::ex08 {

std::size_t sample_top_p(const Vector& logits, float temperature, float top_p, float coin) {
    constexpr const char* fn = "attn::ex08::sample_top_p";
    check_shape(fn, "logits", logits, {any("vocab_size")});
    if (!(temperature > 0.0f))
        attn::invalid_argument(fn,
                               "temperature = " + std::to_string(temperature) + " must be above 0");
    if (!(top_p > 0.0f && top_p <= 1.0f))
        attn::invalid_argument(fn, "top_p = " + std::to_string(top_p) + " must be in (0, 1]");
    const Vector scaled = logits / temperature;
    const Vector p = attn::softmax(scaled);
    const std::size_t n = p.size();

    std::vector<std::size_t> order(n);
    std::iota(order.begin(), order.end(), std::size_t{0});
    std::stable_sort(order.begin(), order.end(),
                     [&](std::size_t a, std::size_t b) { return p(a) > p(b); });

    std::size_t kept = 0;
    double mass = 0.0;
    while (kept < n) {
        mass += p(order[kept]);
        ++kept;
        if (mass > top_p) break;  // the crossing token is kept
    }

    double r = static_cast<double>(coin);
    for (std::size_t i = 0; i < kept; ++i) {
        r -= p(order[i]);
        if (r < 0.0) return order[i];
    }
    return order[kept - 1];
}

}  // namespace attn::ex08
