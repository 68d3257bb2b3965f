// answers: 6.2
// expect 6.2: failing
// mistake: the rows are taken up to cache.length - 1 (exclusive), so the newest position, the token's own key and value, is left out
// part: range of cached rows (off by one)
#include "exercises.hpp"

#include "chapters/01_single_head_attention/single_head_attention.hpp"

#include <xtensor/xview.hpp>

#include <cmath>

namespace attn::ex06 {

Vector attend_cached(const HeadCache& cache, const Vector& query) {
    constexpr const char* fn = "attn::ex06::attend_cached";
    if (cache.length == 0) invalid_argument(fn, "the cache is empty: prefill before decoding");
    check_shape(fn, "query", query, {exactly("d_head", cache.keys.shape(1))});
    const Matrix keys = xt::view(cache.keys, xt::range(0, cache.length - 1), xt::all());
    const Matrix values = xt::view(cache.values, xt::range(0, cache.length - 1), xt::all());
    return attn::attend(query, keys, values).output;
}

}  // namespace attn::ex06
