// answers: 1.1
// expect 1.1: failing
// mistake: only keys is checked, against the query's width, so an empty query with keys of shape [T, 0] is accepted and gives T zero scores instead of throwing std::invalid_argument.
// part: argument checks (the query is never checked)
#include "exercises.hpp"

#include <xtensor/xbuilder.hpp>

namespace attn::ex01 {

Vector dot_scores(const Vector& query, const Matrix& keys) {
    // The keys must have one column per number of the query.
    check_shape("attn::ex01::dot_scores", "keys", keys, {any("T"), exactly("d_k", query.size())});
    Vector scores = xt::zeros<float>({keys.shape(0)});
    for (std::size_t j = 0; j < keys.shape(0); ++j) {
        float s = 0.0f;
        for (std::size_t i = 0; i < query.size(); ++i) s += query(i) * keys(j, i);
        scores(j) = s;
    }
    return scores;
}

}  // namespace attn::ex01
