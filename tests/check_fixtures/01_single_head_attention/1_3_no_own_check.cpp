// answers: 1.3
// expect 1.3: failing: a function the answer called
// Leaves the shape checks to dot_scores(), so a shape error names dot_scores, not attend.
#include "exercises.hpp"

#include <cmath>

namespace attn::ex01 {

Vector attend(const Vector& query, const Matrix& keys, const Matrix& values) {
    const Vector weights = stable_softmax(dot_scores(query, keys) / std::sqrt(float(query.size())));
    Vector out = xt::zeros<float>({values.shape(1)});
    for (std::size_t j = 0; j < keys.shape(0) && j < values.shape(0); ++j)
        out += weights(j) * xt::row(values, j);
    return out;
}

}  // namespace attn::ex01
