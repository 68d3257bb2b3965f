// answers: 6.4
// expect 6.4: failing
// mistake: the product is accumulated in a 32-bit unsigned int, so any cache of 4 GiB or more wraps round modulo 2^32 and a much smaller (or zero) byte count is returned.
// part: the integer type of the product
#include "exercises.hpp"

#include <string>
#include <utility>

namespace attn::ex06 {

std::size_t kv_cache_bytes(std::size_t layers, std::size_t kv_heads, std::size_t d_head,
                           std::size_t tokens, std::size_t bytes_per_number, std::size_t batch) {
    constexpr const char* fn = "attn::ex06::kv_cache_bytes";
    const std::pair<const char*, std::size_t> args[] = {{"layers", layers},
                                                        {"kv_heads", kv_heads},
                                                        {"d_head", d_head},
                                                        {"tokens", tokens},
                                                        {"bytes_per_number", bytes_per_number},
                                                        {"batch", batch}};
    for (const auto& [name, value] : args)
        if (value == 0) invalid_argument(fn, std::string(name) + " = 0: must be at least 1");
    unsigned int bytes = 2;  // a key and a value
    bytes *= layers;
    bytes *= kv_heads;
    bytes *= d_head;
    bytes *= tokens;
    bytes *= bytes_per_number;
    bytes *= batch;
    return bytes;
}

}  // namespace attn::ex06
