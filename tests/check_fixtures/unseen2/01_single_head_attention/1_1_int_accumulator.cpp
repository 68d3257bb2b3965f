// answers: 1.1
// expect 1.1: failing
// mistake: each score is added up in an int, so every product is truncated toward zero as it is added; right only when every product is a whole number
// part: the dot product's accumulator type
#include "exercises.hpp"

#include <xtensor/xbuilder.hpp>

namespace attn::ex01 {

Vector dot_scores(const Vector& query, const Matrix& keys) {
    constexpr const char* fn = "attn::ex01::dot_scores";
    check_shape(fn, "query", query, {any("d_k")});
    check_shape(fn, "keys", keys, {any("T"), exactly("d_k", query.size())});
    const std::size_t T = keys.shape(0), d_k = keys.shape(1);
    Vector scores = xt::zeros<float>({T});
    for (std::size_t j = 0; j < T; ++j) {
        int sum = 0;
        for (std::size_t i = 0; i < d_k; ++i) sum += query(i) * keys(j, i);
        scores(j) = static_cast<float>(sum);
    }
    return scores;
}

}  // namespace attn::ex01
