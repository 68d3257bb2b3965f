// answers: 1.3
// expect 1.3: failing: returns the weights
#include "exercises.hpp"

#include <cmath>

namespace attn::ex01 {

Vector attend(const Vector& query, const Matrix& keys, const Matrix& values) {
    check_shape("attn::ex01::attend", "query", query, {any("d_k")});
    check_shape("attn::ex01::attend", "keys", keys, {any("T"), exactly("d_k", query.size())});
    check_shape("attn::ex01::attend", "values", values, {exactly("T", keys.shape(0)), any("d_v")});
    return stable_softmax(dot_scores(query, keys) / std::sqrt(float(query.size())));
}

}  // namespace attn::ex01
