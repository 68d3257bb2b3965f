// answers: 6.2
// expect 6.2: failing: the new query attends only to itself
// Uses the newest position only.
#include "exercises.hpp"

#include "chapters/01_single_head_attention/single_head_attention.hpp"

#include <cmath>

namespace attn::ex06 {

Vector attend_cached(const HeadCache& cache, const Vector& query) {
    if (cache.length == 0)
        invalid_argument("attn::ex06::attend_cached", "the cache is empty: prefill first");
    check_shape("attn::ex06::attend_cached", "query", query,
                {exactly("d_head", cache.keys.shape(1))});
    return xt::row(cache.values, cache.length - 1);
}

}  // namespace attn::ex06
