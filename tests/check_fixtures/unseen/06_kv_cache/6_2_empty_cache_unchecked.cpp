// answers: 6.2
// expect 6.2: failing
// mistake: an empty cache is not checked here, so the error comes from attn::attend about an empty keys matrix instead of from attend_cached saying the cache is empty
// part: argument check: empty cache
#include "exercises.hpp"

#include "chapters/01_single_head_attention/single_head_attention.hpp"

#include <xtensor/xview.hpp>

#include <cmath>

namespace attn::ex06 {

Vector attend_cached(const HeadCache& cache, const Vector& query) {
    constexpr const char* fn = "attn::ex06::attend_cached";
    check_shape(fn, "query", query, {exactly("d_head", cache.keys.shape(1))});
    const Matrix keys = xt::view(cache.keys, xt::range(0, cache.length), xt::all());
    const Matrix values = xt::view(cache.values, xt::range(0, cache.length), xt::all());
    return attn::attend(query, keys, values).output;
}

}  // namespace attn::ex06
