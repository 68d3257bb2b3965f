// answers: 1.1
// expect 1.1: failing: bad input reached a library call
// Right numbers, but no shape check: xtensor's broadcast error escapes instead.
#include "exercises.hpp"

namespace attn::ex01 {

Vector dot_scores(const Vector& query, const Matrix& keys) {
    Vector scores = xt::zeros<float>({keys.shape(0)});
    for (std::size_t j = 0; j < keys.shape(0); ++j) scores(j) = xt::sum(xt::row(keys, j) * query)();
    return scores;
}

}  // namespace attn::ex01
