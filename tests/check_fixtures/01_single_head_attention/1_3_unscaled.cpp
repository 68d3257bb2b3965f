// answers: 1.3
// expect 1.3: failing: missing 1/sqrt(d_k)
#include "exercises.hpp"

namespace attn::ex01 {

Vector attend(const Vector& query, const Matrix& keys, const Matrix& values) {
    check_shape("attn::ex01::attend", "query", query, {any("d_k")});
    check_shape("attn::ex01::attend", "keys", keys, {any("T"), exactly("d_k", query.size())});
    check_shape("attn::ex01::attend", "values", values, {exactly("T", keys.shape(0)), any("d_v")});
    const Vector weights = stable_softmax(dot_scores(query, keys));
    Vector out = xt::zeros<float>({values.shape(1)});
    for (std::size_t j = 0; j < keys.shape(0); ++j) out += weights(j) * xt::row(values, j);
    return out;
}

}  // namespace attn::ex01
