// answers: 1.3
// expect 1.3: failing
// mistake: the scores are divided by sqrt(d_v), the width of the values, instead of sqrt(d_k), so the weights are too sharp or too flat whenever d_v differs from d_k.
// part: the score scale
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
    const std::size_t d = values.shape(1);
    const Vector scores = dot_scores(query, keys) / std::sqrt(static_cast<float>(d));
    const Vector w = stable_softmax(scores);
    Vector out = xt::zeros<float>({values.shape(1)});
    for (std::size_t j = 0; j < values.shape(0); ++j) out += w(j) * xt::row(values, j);
    return out;
}

}  // namespace attn::ex01
