// answers: 1.1
// expect 1.1: failing
// mistake: the loop over the keys stops at keys.shape(0) - 1, so the last key's score is never computed and stays 0
// part: loop bound over the keys
#include "exercises.hpp"

#include <xtensor/xbuilder.hpp>

namespace attn::ex01 {

Vector dot_scores(const Vector& query, const Matrix& keys) {
    check_shape("attn::ex01::dot_scores", "query", query, {any("d_k")});
    check_shape("attn::ex01::dot_scores", "keys", keys, {any("T"), exactly("d_k", query.size())});
    Vector scores = xt::zeros<float>({keys.shape(0)});
    for (std::size_t j = 0; j < keys.shape(0) - 1; ++j) {
        float s = 0.0f;
        for (std::size_t i = 0; i < query.size(); ++i) s += query(i) * keys(j, i);
        scores(j) = s;
    }
    return scores;
}

}  // namespace attn::ex01
