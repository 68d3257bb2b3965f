// answers: 1.1
// expect 1.1: failing
// mistake: the shape errors are thrown by hand with std::invalid_argument and messages that never name attn::ex01::dot_scores nor show the actual shapes
// part: argument check message
#include "exercises.hpp"

#include <stdexcept>

namespace attn::ex01 {

Vector dot_scores(const Vector& query, const Matrix& keys) {
    if (query.size() == 0) throw std::invalid_argument("query must not be empty");
    if (keys.shape(0) == 0 || keys.shape(1) != query.size())
        throw std::invalid_argument("keys must be [T, d_k] with the same d_k as the query");
    Vector scores = Vector::from_shape({keys.shape(0)});
    for (std::size_t j = 0; j < keys.shape(0); ++j) {
        float s = 0.0f;
        for (std::size_t i = 0; i < query.size(); ++i) s += query(i) * keys(j, i);
        scores(j) = s;
    }
    return scores;
}

}  // namespace attn::ex01
