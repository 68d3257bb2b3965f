// answers: 4.3
// expect 4.3: failing
// mistake: checks n_kv_heads (not 0, divides n_heads) but never that head is below n_heads, so head = n_heads returns n_kv_heads (out of range) instead of throwing (and n_heads = 0 divides by a group of 0)
// part: the head range check
#include "exercises.hpp"

#include <string>

namespace attn::ex04 {

std::size_t kv_head_for(std::size_t head, std::size_t n_heads, std::size_t n_kv_heads) {
    constexpr const char* fn = "attn::ex04::kv_head_for";
    if (n_kv_heads == 0)
        attn::invalid_argument(fn, "n_kv_heads = 0: at least one key/value head is needed");
    if (n_heads % n_kv_heads != 0) {
        attn::invalid_argument(
            fn, "n_heads = " + std::to_string(n_heads) +
                    " is not a multiple of n_kv_heads = " + std::to_string(n_kv_heads));
    }
    const std::size_t group = n_heads / n_kv_heads;
    return head / group;
}

}  // namespace attn::ex04
