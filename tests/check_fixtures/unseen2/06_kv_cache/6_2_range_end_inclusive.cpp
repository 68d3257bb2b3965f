// answers: 6.2
// expect 6.2: failing
// mistake: the rows are taken with xt::range(0, length - 1) as if the end were included, so the newest position (the token's own key and value) is left out; a cache of one position is refused
// part: the range of cached rows
#include "exercises.hpp"

#include "chapters/01_single_head_attention/single_head_attention.hpp"

#include <xtensor/xview.hpp>

namespace attn::ex06 {

Vector attend_cached(const HeadCache& cache, const Vector& query) {
    constexpr const char* fn = "attn::ex06::attend_cached";
    if (cache.length == 0)
        attn::invalid_argument(fn, "the cache is empty (length = 0): prefill it first");
    check_shape(fn, "query", query, {exactly("d_head", cache.keys.shape(1))});
    const std::size_t last = cache.length - 1;  // rows 0..last
    const Matrix keys = xt::view(cache.keys, xt::range(std::size_t{0}, last), xt::all());
    const Matrix values = xt::view(cache.values, xt::range(std::size_t{0}, last), xt::all());
    return attn::attend(query, keys, values).output;
}

}  // namespace attn::ex06
