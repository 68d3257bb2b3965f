// answers: 6.2
// expect 6.2: failing
// mistake: the scores K q are put through the softmax without dividing by sqrt(d_head)
// part: score scale factor
#include "exercises.hpp"

#include "chapters/01_single_head_attention/single_head_attention.hpp"

#include <xtensor-blas/xlinalg.hpp>
#include <xtensor/xview.hpp>

namespace attn::ex06 {

Vector attend_cached(const HeadCache& cache, const Vector& query) {
    constexpr const char* fn = "attn::ex06::attend_cached";
    if (cache.length == 0) invalid_argument(fn, "the cache is empty: prefill before decoding");
    check_shape(fn, "query", query, {exactly("d_head", cache.keys.shape(1))});
    const Matrix keys = xt::view(cache.keys, xt::range(0, cache.length), xt::all());
    const Matrix values = xt::view(cache.values, xt::range(0, cache.length), xt::all());
    const Vector scores = xt::linalg::dot(keys, query);
    const Vector weights = attn::softmax(scores);
    return xt::linalg::dot(weights, values);
}

}  // namespace attn::ex06
