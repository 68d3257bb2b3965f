// answers: 1.4
// expect 1.4: failing
// mistake: only refuses empty matrices; keys whose d_k differs from the queries' are not checked and reach xt::linalg::dot, which fails with its own error instead of std::invalid_argument naming attention_weights
// part: the d_k check
#include "exercises.hpp"

#include <xtensor-blas/xlinalg.hpp>
#include <xtensor/xmanipulation.hpp>
#include <xtensor/xview.hpp>

#include <cmath>

namespace attn::ex01 {

Matrix attention_weights(const Matrix& queries, const Matrix& keys) {
    constexpr const char* fn = "attn::ex01::attention_weights";
    if (queries.size() == 0)
        attn::invalid_argument(fn, "argument 'queries' is empty: shape " + attn::shape_of(queries));
    if (keys.size() == 0)
        attn::invalid_argument(fn, "argument 'keys' is empty: shape " + attn::shape_of(keys));
    const float scale = 1.0f / std::sqrt(static_cast<float>(queries.shape(1)));
    Matrix scores = xt::linalg::dot(queries, xt::transpose(keys));
    scores *= scale;
    Matrix weights = scores;
    for (std::size_t i = 0; i < scores.shape(0); ++i) {
        const Vector row = xt::row(scores, i);
        xt::row(weights, i) = stable_softmax(row);
    }
    return weights;
}

}  // namespace attn::ex01
