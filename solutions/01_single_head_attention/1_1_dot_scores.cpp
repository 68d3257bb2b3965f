// Exercise 1.1, reference answer.
#include "exercises.hpp"

namespace attn::ex01 {

Vector dot_scores(const Vector& query, const Matrix& keys) {
    check_shape("attn::ex01::dot_scores", "query", query, {any("d_k")});
    check_shape("attn::ex01::dot_scores", "keys", keys, {any("T"), exactly("d_k", query.size())});
    Vector scores = Vector::from_shape({keys.shape(0)});
    for (std::size_t j = 0; j < keys.shape(0); ++j) {
        float s = 0.0f;
        for (std::size_t i = 0; i < query.size(); ++i) s += query(i) * keys(j, i);
        scores(j) = s;
    }
    return scores;
}

}  // namespace attn::ex01
