#include "chapters/01_single_head_attention/single_head_attention.hpp"

#include "common/shape.hpp"

#include <xtensor-blas/xlinalg.hpp>
#include <xtensor/xview.hpp>

#include <algorithm>
#include <cmath>
#include <limits>

namespace attn {

void softmax_in_place(float* x, std::size_t n) {
    float max = -std::numeric_limits<float>::infinity();
    for (std::size_t i = 0; i < n; ++i) {
        if (std::isnan(x[i])) {
            std::fill(x, x + n, std::numeric_limits<float>::quiet_NaN());
            return;
        }
        max = std::max(max, x[i]);
    }
    if (max == -std::numeric_limits<float>::infinity()) {
        std::fill(x, x + n, 0.0f);  // every key masked: attend to nothing
        return;
    }
    float sum = 0.0f;
    for (std::size_t i = 0; i < n; ++i) {
        x[i] = std::exp(x[i] - max);  // exponent <= 0, so no overflow
        sum += x[i];
    }
    for (std::size_t i = 0; i < n; ++i) x[i] /= sum;  // sum >= 1: the maximum contributes e^0
}

Vector dot_scores(const Vector& query, const Matrix& keys) {
    check_shape("attn::dot_scores", "query", query, {any("d_k")});
    check_shape("attn::dot_scores", "keys", keys, {any("T"), exactly("d_k", query.size())});
    Vector scores = Vector::from_shape({keys.shape(0)});
    for (std::size_t j = 0; j < keys.shape(0); ++j) {
        float s = 0.0f;
        for (std::size_t i = 0; i < query.size(); ++i) s += query(i) * keys(j, i);
        scores(j) = s;
    }
    return scores;
}

Vector naive_softmax(const Vector& logits) {
    check_shape("attn::naive_softmax", "logits", logits, {any("T")});
    Vector e = xt::exp(logits);
    const float sum = xt::sum(e)();
    return e / sum;
}

Vector softmax(const Vector& logits) {
    check_shape("attn::softmax", "logits", logits, {any("T")});
    Vector out = logits;
    softmax_in_place(out.data(), out.size());
    return out;
}

Matrix softmax_rows(const Matrix& logits) {
    check_shape("attn::softmax_rows", "logits", logits, {any("rows"), any("T")});
    Matrix out = logits;
    for (std::size_t r = 0; r < out.shape(0); ++r) softmax_in_place(&out(r, 0), out.shape(1));
    return out;
}

Attention attend(const Vector& query, const Matrix& keys, const Matrix& values) {
    check_shape("attn::attend", "query", query, {any("d_k")});
    check_shape("attn::attend", "keys", keys, {any("T"), exactly("d_k", query.size())});
    check_shape("attn::attend", "values", values, {exactly("T", keys.shape(0)), any("d_v")});
    const float scale = 1.0f / std::sqrt(static_cast<float>(query.size()));
    Vector weights = softmax(dot_scores(query, keys) * scale);
    Vector output = xt::zeros<float>({values.shape(1)});
    for (std::size_t j = 0; j < values.shape(0); ++j) output += weights(j) * xt::row(values, j);
    return {std::move(weights), std::move(output)};
}

Matrix scaled_scores(const Matrix& queries, const Matrix& keys) {
    check_shape("attn::scaled_scores", "queries", queries, {any("T_q"), any("d_k")});
    check_shape("attn::scaled_scores", "keys", keys,
                {any("T_k"), exactly("d_k", queries.shape(1))});
    Matrix scores = xt::linalg::dot(queries, xt::transpose(keys));
    scores *= 1.0f / std::sqrt(static_cast<float>(queries.shape(1)));
    return scores;
}

AttentionResult scaled_dot_product_attention(const Matrix& queries, const Matrix& keys,
                                             const Matrix& values) {
    constexpr const char* fn = "attn::scaled_dot_product_attention";
    check_shape(fn, "queries", queries, {any("T_q"), any("d_k")});
    check_shape(fn, "keys", keys, {any("T_k"), exactly("d_k", queries.shape(1))});
    check_shape(fn, "values", values, {exactly("T_k", keys.shape(0)), any("d_v")});
    Matrix weights = softmax_rows(scaled_scores(queries, keys));
    Matrix output = xt::linalg::dot(weights, values);
    return {std::move(weights), std::move(output)};
}

}  // namespace attn
