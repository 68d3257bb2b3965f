// answers: 4.3
// expect 4.3: failing
// mistake: the query head is divided by n_kv_heads instead of by the group size n_heads / n_kv_heads, which is right only when both happen to be equal and can return a head past n_kv_heads - 1
// part: group size in the division
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
    if (head >= n_heads) {
        invalid_argument(fn, "head = " + std::to_string(head) +
                                 " is not below n_heads = " + std::to_string(n_heads));
    }
    return head / n_kv_heads;
}

}  // namespace attn::ex04
