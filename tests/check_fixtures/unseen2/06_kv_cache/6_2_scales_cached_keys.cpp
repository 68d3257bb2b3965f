// answers: 6.2
// expect 6.2: failing
// mistake: to save a multiplication per score, the cached keys are divided by sqrt(d_head) in place through a const_cast, so the first call's output is right but the caller's cache is changed and every later call is scaled once more
// part: writing to the const cache
#include "exercises.hpp"

#include "chapters/01_single_head_attention/single_head_attention.hpp"

#include <xtensor/xbuilder.hpp>
#include <xtensor/xview.hpp>

#include <cmath>

namespace attn::ex06 {

Vector attend_cached(const HeadCache& cache, const Vector& query) {
    constexpr const char* fn = "attn::ex06::attend_cached";
    if (cache.length == 0)
        attn::invalid_argument(fn, "the cache is empty (length = 0): prefill it first");
    const std::size_t n = cache.length, d_head = cache.keys.shape(1);
    check_shape(fn, "query", query, {exactly("d_head", d_head)});

    // Scale the keys instead of every score: (K / sqrt(d)) q = K q / sqrt(d).
    Matrix& keys = const_cast<Matrix&>(cache.keys);
    auto used = xt::view(keys, xt::range(std::size_t{0}, n), xt::all());
    used /= std::sqrt(static_cast<float>(d_head));

    Vector scores = xt::zeros<float>({n});
    for (std::size_t t = 0; t < n; ++t)
        for (std::size_t i = 0; i < d_head; ++i) scores(t) += keys(t, i) * query(i);
    const Vector weights = attn::softmax(scores);
    Vector output = xt::zeros<float>({cache.values.shape(1)});
    for (std::size_t t = 0; t < n; ++t) output += weights(t) * xt::row(cache.values, t);
    return output;
}

}  // namespace attn::ex06
