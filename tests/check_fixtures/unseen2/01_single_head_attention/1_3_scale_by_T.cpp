// answers: 1.3
// expect 1.3: failing
// mistake: the scores are scaled by 1/sqrt(T), the number of keys (keys.shape(0)), instead of 1/sqrt(d_k); right only when T equals d_k
// part: the scale factor
#include "exercises.hpp"

#include <xtensor/xbuilder.hpp>
#include <xtensor/xview.hpp>

#include <cmath>

namespace attn::ex01 {

Vector attend(const Vector& query, const Matrix& keys, const Matrix& values) {
    constexpr const char* fn = "attn::ex01::attend";
    check_shape(fn, "query", query, {any("d_k")});
    check_shape(fn, "keys", keys, {any("T"), exactly("d_k", query.size())});
    check_shape(fn, "values", values, {exactly("T", keys.shape(0)), any("d_v")});
    const std::size_t T = keys.shape(0);
    const float scale = 1.0f / std::sqrt(static_cast<float>(T));
    const Vector scores = dot_scores(query, keys) * scale;
    const Vector weights = stable_softmax(scores);
    Vector output = xt::zeros<float>({values.shape(1)});
    for (std::size_t j = 0; j < T; ++j) output += weights(j) * xt::row(values, j);
    return output;
}

}  // namespace attn::ex01
