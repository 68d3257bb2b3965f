// answers: 6.4
// expect 6.4: passing
// The formula as the task states it.
#include "exercises.hpp"

#include <string>

namespace attn::ex06 {

std::size_t kv_cache_bytes(std::size_t layers, std::size_t kv_heads, std::size_t d_head,
                           std::size_t tokens, std::size_t bytes_per_number, std::size_t batch) {
    if (layers == 0 || kv_heads == 0 || d_head == 0 || tokens == 0 || bytes_per_number == 0 ||
        batch == 0)
        invalid_argument("attn::ex06::kv_cache_bytes",
                         "every argument must be at least 1: layers = " + std::to_string(layers) +
                             ", kv_heads = " + std::to_string(kv_heads) + ", d_head = " +
                             std::to_string(d_head) + ", tokens = " + std::to_string(tokens) +
                             ", bytes_per_number = " + std::to_string(bytes_per_number) +
                             ", batch = " + std::to_string(batch));
    return 2 * layers * kv_heads * d_head * tokens * bytes_per_number * batch;
}

}  // namespace attn::ex06
