// answers: 1.3
// expect 1.3: failing
// mistake: attend does not check query and keys itself and leaves it to dot_scores, so a wrong keys shape is reported as an error of dot_scores, not of attend
// part: argument check naming the function
#include "exercises.hpp"

#include <xtensor/xview.hpp>

#include <cmath>

namespace attn::ex01 {

Vector attend(const Vector& query, const Matrix& keys, const Matrix& values) {
    check_shape("attn::ex01::attend", "values", values, {exactly("T", keys.shape(0)), any("d_v")});
    const Vector scores = dot_scores(query, keys);  // checks query and keys
    const float scale = 1.0f / std::sqrt(static_cast<float>(query.size()));
    const Vector weights = stable_softmax(scores * scale);
    Vector output = xt::zeros<float>({values.shape(1)});
    for (std::size_t j = 0; j < values.shape(0); ++j) output += weights(j) * xt::row(values, j);
    return output;
}

}  // namespace attn::ex01
