// answers: 1.1
// expect 1.1: passing
// The hint followed literally: xt::row for key j, xt::sum(a * b)() for the dot product.
#include "exercises.hpp"

namespace attn::ex01 {

Vector dot_scores(const Vector& query, const Matrix& keys) {
    check_shape("attn::ex01::dot_scores", "query", query, {any("d_k")});
    check_shape("attn::ex01::dot_scores", "keys", keys, {any("T"), exactly("d_k", query.size())});
    Vector scores = xt::zeros<float>({keys.shape(0)});
    for (std::size_t j = 0; j < keys.shape(0); ++j) scores(j) = xt::sum(xt::row(keys, j) * query)();
    return scores;
}

}  // namespace attn::ex01
