// answers: 6.1
// expect 6.1: failing
// mistake: the new key and value are always written to row 0 instead of row cache.length, overwriting the first position every time
// part: row written
#include "exercises.hpp"

#include <xtensor/xview.hpp>

#include <string>

namespace attn::ex06 {

void append(HeadCache& cache, const Vector& key, const Vector& value) {
    constexpr const char* fn = "attn::ex06::append";
    const std::size_t capacity = cache.keys.shape(0), d_head = cache.keys.shape(1);
    check_shape(fn, "key", key, {exactly("d_head", d_head)});
    check_shape(fn, "value", value, {exactly("d_head", d_head)});
    if (cache.length >= capacity) {
        invalid_argument(fn, "the cache is full: it holds all " + std::to_string(capacity) +
                                 " positions of its capacity");
    }
    xt::row(cache.keys, 0) = key;
    xt::row(cache.values, 0) = value;
    ++cache.length;
}

}  // namespace attn::ex06
