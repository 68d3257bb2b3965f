// answers: 6.2
// expect 6.2: failing
// mistake: the query attends over every row of the preallocated cache, the unused rows past cache.length included, instead of rows 0..length-1 only
// part: range of cached rows
#include "exercises.hpp"

#include "chapters/01_single_head_attention/single_head_attention.hpp"

#include <xtensor/xview.hpp>

#include <cmath>

namespace attn::ex06 {

Vector attend_cached(const HeadCache& cache, const Vector& query) {
    constexpr const char* fn = "attn::ex06::attend_cached";
    if (cache.length == 0) invalid_argument(fn, "the cache is empty: prefill before decoding");
    check_shape(fn, "query", query, {exactly("d_head", cache.keys.shape(1))});
    return attn::attend(query, cache.keys, cache.values).output;
}

}  // namespace attn::ex06
