// answers: 6.2
// expect 6.2: failing
// mistake: attends over rows 0..length-2, leaving out the newest position (the query's own, already appended), so the output ignores the current token and a cache of one position throws from attn::attend.
// part: the row range of the cache (off by one)
#include "exercises.hpp"

#include "chapters/01_single_head_attention/single_head_attention.hpp"

#include <xtensor/xview.hpp>

namespace attn::ex06 {

Vector attend_cached(const HeadCache& cache, const Vector& query) {
    constexpr const char* fn = "attn::ex06::attend_cached";
    if (cache.length == 0)
        invalid_argument(fn, "the cache is empty: length = 0, nothing prefilled");
    check_shape(fn, "query", query, {exactly("d_head", cache.keys.shape(1))});
    // The past positions: everything before the newest token.
    const Matrix keys = xt::view(cache.keys, xt::range(0, cache.length - 1), xt::all());
    const Matrix values = xt::view(cache.values, xt::range(0, cache.length - 1), xt::all());
    return attn::attend(query, keys, values).output;
}

}  // namespace attn::ex06
