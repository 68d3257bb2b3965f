// answers: 6.1
// expect 6.1: failing
// mistake: the full-cache test is length > capacity instead of length >= capacity, so appending to a full cache is not refused and writes the key and value one row past the end of the matrices.
// part: argument checks (the capacity test)
#include "exercises.hpp"

#include <xtensor/xview.hpp>

#include <string>

namespace attn::ex06 {

void append(HeadCache& cache, const Vector& key, const Vector& value) {
    constexpr const char* fn = "attn::ex06::append";
    const std::size_t capacity = cache.keys.shape(0), d_head = cache.keys.shape(1);
    check_shape(fn, "key", key, {exactly("d_head", d_head)});
    check_shape(fn, "value", value, {exactly("d_head", cache.values.shape(1))});
    if (cache.length > capacity) {
        invalid_argument(fn, "the cache is full: capacity = " + std::to_string(capacity) +
                                 " positions, length = " + std::to_string(cache.length));
    }
    xt::row(cache.keys, cache.length) = key;
    xt::row(cache.values, cache.length) = value;
    ++cache.length;
}

}  // namespace attn::ex06
