// answers: 6.1
// expect 6.1: failing: overwrites the cache instead of appending
// Writes every position into row 0.
#include "exercises.hpp"

#include <string>

namespace attn::ex06 {

void append(HeadCache& cache, const Vector& key, const Vector& value) {
    check_shape("attn::ex06::append", "key", key, {exactly("d_head", cache.keys.shape(1))});
    check_shape("attn::ex06::append", "value", value, {exactly("d_head", cache.keys.shape(1))});
    if (cache.length >= cache.keys.shape(0))
        invalid_argument("attn::ex06::append",
                         "the cache is full: capacity " + std::to_string(cache.keys.shape(0)));
    xt::row(cache.keys, 0) = key;
    xt::row(cache.values, 0) = value;
    ++cache.length;
}

}  // namespace attn::ex06
