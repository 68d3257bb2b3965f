// answers: 1.3
// with 1.2: 1_2_no_divide.cpp
// expect 1.2: failing: without dividing
// expect 1.3: failing: calls your 1.2 (stable_softmax), which is failing
// A right answer to 1.3 that calls a wrong 1.2: told where to look first.
#include "exercises.hpp"

#include <cmath>

namespace attn::ex01 {

Vector attend(const Vector& query, const Matrix& keys, const Matrix& values) {
    check_shape("attn::ex01::attend", "query", query, {any("d_k")});
    check_shape("attn::ex01::attend", "keys", keys, {any("T"), exactly("d_k", query.size())});
    check_shape("attn::ex01::attend", "values", values, {exactly("T", keys.shape(0)), any("d_v")});
    const Vector weights = stable_softmax(dot_scores(query, keys) / std::sqrt(float(query.size())));
    Vector out = xt::zeros<float>({values.shape(1)});
    for (std::size_t j = 0; j < keys.shape(0); ++j) out += weights(j) * xt::row(values, j);
    return out;
}

}  // namespace attn::ex01
