// answers: 6.1
// expect 6.1: failing
// mistake: the key and value are written into row length, but cache.length is never increased, so the cache still reports the old count and the next append overwrites the same row
// part: updating the length
#include "exercises.hpp"

#include <xtensor/xview.hpp>

#include <string>

namespace attn::ex06 {

void append(HeadCache& cache, const Vector& key, const Vector& value) {
    constexpr const char* fn = "attn::ex06::append";
    const std::size_t capacity = cache.keys.shape(0);
    check_shape(fn, "key", key, {exactly("d_head", cache.keys.shape(1))});
    check_shape(fn, "value", value, {exactly("d_head", cache.values.shape(1))});
    if (cache.length >= capacity) {
        attn::invalid_argument(fn, "the cache is full: length = " + std::to_string(cache.length) +
                                       ", capacity = " + std::to_string(capacity));
    }
    xt::row(cache.keys, cache.length) = key;
    xt::row(cache.values, cache.length) = value;
}

}  // namespace attn::ex06
