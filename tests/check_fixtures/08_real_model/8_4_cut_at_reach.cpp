// answers: 8.4
// expect 8.4: failing: the tokens were cut when their mass reached top_p (>=)
// Stops keeping tokens once their mass reaches top_p, not once it is above it.
#include "exercises.hpp"

#include "chapters/01_single_head_attention/single_head_attention.hpp"

#include <algorithm>
#include <numeric>

namespace attn::ex08 {

std::size_t sample_top_p(const Vector& logits, float temperature, float top_p, float coin) {
    check_shape("attn::ex08::sample_top_p", "logits", logits, {any("vocab_size")});
    if (!(temperature > 0.0f)) invalid_argument("attn::ex08::sample_top_p", "temperature");
    if (!(top_p > 0.0f && top_p <= 1.0f)) invalid_argument("attn::ex08::sample_top_p", "top_p");
    Vector p = attn::softmax(logits / temperature);
    std::vector<std::size_t> order(p.size());
    std::iota(order.begin(), order.end(), 0);
    std::stable_sort(order.begin(), order.end(),
                     [&](std::size_t a, std::size_t b) { return p(a) > p(b); });
    std::size_t kept = 0;
    float sum = 0.0f;
    while (kept < order.size()) {
        sum += p(order[kept++]);
        if (sum >= top_p) break;
    }
    float r = coin * sum;
    for (std::size_t n = 0; n < kept; ++n) {
        std::size_t i = n;
        r -= p(order[i]);
        if (r < 0.0f) return order[i];
    }
    return order[kept - 1];
}

}  // namespace attn::ex08
