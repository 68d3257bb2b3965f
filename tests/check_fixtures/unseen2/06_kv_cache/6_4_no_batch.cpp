// answers: 6.4
// expect 6.4: failing
// mistake: the product leaves out batch (2 x layers x kv_heads x d_head x tokens x bytes_per_number), so the bytes are those of one sequence; right only when batch = 1
// part: the batch factor
#include "exercises.hpp"

#include <string>
#include <utility>

namespace attn::ex06 {

std::size_t kv_cache_bytes(std::size_t layers, std::size_t kv_heads, std::size_t d_head,
                           std::size_t tokens, std::size_t bytes_per_number, std::size_t batch) {
    constexpr const char* fn = "attn::ex06::kv_cache_bytes";
    const std::pair<const char*, std::size_t> arguments[] = {{"layers", layers},
                                                             {"kv_heads", kv_heads},
                                                             {"d_head", d_head},
                                                             {"tokens", tokens},
                                                             {"bytes_per_number", bytes_per_number},
                                                             {"batch", batch}};
    for (const auto& [name, value] : arguments) {
        if (value == 0)
            attn::invalid_argument(fn, std::string(name) + " = 0: every size must be at least 1");
    }
    // A key and a value (2) per layer, key/value head and token, d_head numbers each.
    return 2 * layers * kv_heads * d_head * tokens * bytes_per_number;
}

}  // namespace attn::ex06
