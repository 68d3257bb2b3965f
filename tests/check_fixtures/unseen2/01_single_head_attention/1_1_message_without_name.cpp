// answers: 1.1
// expect 1.1: failing
// mistake: the shape errors are thrown as plain std::invalid_argument messages that show the shapes but never name dot_scores
// part: the error message
#include "exercises.hpp"

#include <xtensor/xbuilder.hpp>

#include <stdexcept>
#include <string>

namespace attn::ex01 {

Vector dot_scores(const Vector& query, const Matrix& keys) {
    if (query.size() == 0)
        throw std::invalid_argument("query must not be empty, but has shape [0]");
    if (keys.shape(0) == 0 || keys.shape(1) != query.size()) {
        throw std::invalid_argument("keys must have shape [T, d_k] = [T, " +
                                    std::to_string(query.size()) + "], but has shape " +
                                    attn::shape_of(keys));
    }
    const std::size_t T = keys.shape(0), d_k = keys.shape(1);
    Vector scores = xt::zeros<float>({T});
    for (std::size_t j = 0; j < T; ++j) {
        float sum = 0.0f;
        for (std::size_t i = 0; i < d_k; ++i) sum += query(i) * keys(j, i);
        scores(j) = sum;
    }
    return scores;
}

}  // namespace attn::ex01
