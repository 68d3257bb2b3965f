// answers: 4.3
// expect 4.3: failing: the task asks (each number as name = value)
// The right head, but the messages say what is wrong without the numbers the task asks for.
#include "exercises.hpp"

namespace attn::ex04 {

std::size_t kv_head_for(std::size_t head, std::size_t n_heads, std::size_t n_kv_heads) {
    constexpr const char* fn = "attn::ex04::kv_head_for";
    if (n_kv_heads == 0 || n_heads % n_kv_heads != 0)
        invalid_argument(fn, "the key/value heads do not divide the query heads");
    if (head >= n_heads) invalid_argument(fn, "no such head");
    return head / (n_heads / n_kv_heads);
}

}  // namespace attn::ex04
