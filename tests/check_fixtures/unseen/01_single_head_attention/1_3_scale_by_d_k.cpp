// answers: 1.3
// expect 1.3: failing
// mistake: the scores are divided by d_k instead of by sqrt(d_k)
// part: score scale factor
#include "exercises.hpp"

#include <xtensor/xview.hpp>

namespace attn::ex01 {

Vector attend(const Vector& query, const Matrix& keys, const Matrix& values) {
    check_shape("attn::ex01::attend", "query", query, {any("d_k")});
    check_shape("attn::ex01::attend", "keys", keys, {any("T"), exactly("d_k", query.size())});
    check_shape("attn::ex01::attend", "values", values, {exactly("T", keys.shape(0)), any("d_v")});
    const float scale = 1.0f / static_cast<float>(query.size());
    const Vector weights = stable_softmax(dot_scores(query, keys) * scale);
    Vector output = xt::zeros<float>({values.shape(1)});
    for (std::size_t j = 0; j < values.shape(0); ++j) output += weights(j) * xt::row(values, j);
    return output;
}

}  // namespace attn::ex01
