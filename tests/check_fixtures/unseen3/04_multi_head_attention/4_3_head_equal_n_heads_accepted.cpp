// answers: 4.3
// expect 4.3: failing
// mistake: the range check is head > n_heads instead of head >= n_heads, so head = n_heads is accepted and returns n_kv_heads, a key/value head that does not exist.
// part: argument checks (head's upper bound)
#include "exercises.hpp"

#include <string>

namespace attn::ex04 {

std::size_t kv_head_for(std::size_t head, std::size_t n_heads, std::size_t n_kv_heads) {
    constexpr const char* fn = "attn::ex04::kv_head_for";
    if (n_kv_heads == 0 || n_heads % n_kv_heads != 0) {
        invalid_argument(fn,
                         "n_heads = " + std::to_string(n_heads) +
                             " is not a multiple of n_kv_heads = " + std::to_string(n_kv_heads));
    }
    if (head > n_heads) {
        invalid_argument(fn, "head = " + std::to_string(head) +
                                 " is not below n_heads = " + std::to_string(n_heads));
    }
    return head / (n_heads / n_kv_heads);
}

}  // namespace attn::ex04
