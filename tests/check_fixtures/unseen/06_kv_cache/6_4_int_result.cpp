// answers: 6.4
// expect 6.4: failing
// mistake: the byte count is stored in an int, a 32-bit number, so any cache of 2 GiB or more overflows (the 512 MiB example still fits)
// part: 32-bit overflow of the byte count
#include "exercises.hpp"

#include <string>

namespace attn::ex06 {

std::size_t kv_cache_bytes(std::size_t layers, std::size_t kv_heads, std::size_t d_head,
                           std::size_t tokens, std::size_t bytes_per_number, std::size_t batch) {
    if (layers == 0 || kv_heads == 0 || d_head == 0 || tokens == 0 || bytes_per_number == 0 ||
        batch == 0) {
        invalid_argument(
            "attn::ex06::kv_cache_bytes",
            "every argument must be at least 1, got layers = " + std::to_string(layers) +
                ", kv_heads = " + std::to_string(kv_heads) +
                ", d_head = " + std::to_string(d_head) + ", tokens = " + std::to_string(tokens) +
                ", bytes_per_number = " + std::to_string(bytes_per_number) +
                ", batch = " + std::to_string(batch));
    }
    const int bytes = 2 * layers * kv_heads * d_head * tokens * bytes_per_number * batch;
    return bytes;
}

}  // namespace attn::ex06
