// answers: 1.1
// expect 1.1: failing: divided by sqrt(d_k)
// Scales the scores a step too early.
#include "exercises.hpp"

namespace attn::ex01 {

Vector dot_scores(const Vector& query, const Matrix& keys) {
    check_shape("attn::ex01::dot_scores", "query", query, {any("d_k")});
    check_shape("attn::ex01::dot_scores", "keys", keys, {any("T"), exactly("d_k", query.size())});
    Vector scores = xt::zeros<float>({keys.shape(0)});
    for (std::size_t j = 0; j < keys.shape(0); ++j) scores(j) = xt::sum(xt::row(keys, j) * query)();
    return scores / std::sqrt(static_cast<float>(query.size()));
}

}  // namespace attn::ex01
