// answers: 6.1
// expect 6.1: failing
// mistake: a copy-paste slip stores the key in the values row as well, so the cached value is the key and the real value is lost
// part: which argument goes where
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
    xt::row(cache.keys, cache.length) = key;
    xt::row(cache.values, cache.length) = key;
    ++cache.length;
}

}  // namespace attn::ex06
