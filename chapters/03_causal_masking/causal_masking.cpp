#include "chapters/03_causal_masking/causal_masking.hpp"

#include "common/shape.hpp"

#include <xtensor-blas/xlinalg.hpp>

#include <limits>
#include <string>

namespace attn {

namespace {

void check_length(const char* function, const char* argument, std::size_t value) {
    if (value == 0) {
        invalid_argument(function,
                         "argument '" + std::string(argument) + "' must be at least 1, got 0");
    }
}

}  // namespace

Mask causal_mask(std::size_t T) {
    check_length("attn::causal_mask", "T", T);
    Mask m = Mask::from_shape({T, T});
    for (std::size_t i = 0; i < T; ++i)
        for (std::size_t j = 0; j < T; ++j) m(i, j) = j <= i;
    return m;
}

Mask causal_mask(std::size_t T_q, std::size_t T_k) {
    check_length("attn::causal_mask", "T_q", T_q);
    if (T_k < T_q) {
        invalid_argument("attn::causal_mask",
                         "T_k = " + std::to_string(T_k) +
                             " positions cannot hold T_q = " + std::to_string(T_q) + " new ones");
    }
    const std::size_t past = T_k - T_q;
    Mask m = Mask::from_shape({T_q, T_k});
    for (std::size_t i = 0; i < T_q; ++i)
        for (std::size_t j = 0; j < T_k; ++j) m(i, j) = j <= past + i;
    return m;
}

Mask sliding_window_mask(std::size_t T, std::size_t window) {
    check_length("attn::sliding_window_mask", "T", T);
    check_length("attn::sliding_window_mask", "window", window);
    Mask m = Mask::from_shape({T, T});
    for (std::size_t i = 0; i < T; ++i)
        for (std::size_t j = 0; j < T; ++j) m(i, j) = j <= i && i - j < window;
    return m;
}

BatchMask padded_causal_masks(const std::vector<std::size_t>& lengths, std::size_t T) {
    constexpr const char* fn = "attn::padded_causal_masks";
    check_length(fn, "T", T);
    if (lengths.empty()) invalid_argument(fn, "argument 'lengths' must hold at least one sequence");
    for (std::size_t b = 0; b < lengths.size(); ++b) {
        if (lengths[b] == 0 || lengths[b] > T) {
            invalid_argument(fn, "lengths[" + std::to_string(b) + "] must be in 1..T = 1.." +
                                     std::to_string(T) + ", got " + std::to_string(lengths[b]));
        }
    }
    BatchMask m = BatchMask::from_shape({lengths.size(), T, T});
    for (std::size_t b = 0; b < lengths.size(); ++b)
        for (std::size_t i = 0; i < T; ++i)
            for (std::size_t j = 0; j < T; ++j) m(b, i, j) = j <= i && j < lengths[b];
    return m;
}

Matrix apply_mask(const Matrix& scores, const Mask& allowed) {
    check_shape("attn::apply_mask", "scores", scores, {any("T_q"), any("T_k")});
    check_shape("attn::apply_mask", "allowed", allowed,
                {exactly("T_q", scores.shape(0)), exactly("T_k", scores.shape(1))});
    Matrix out = scores;
    for (std::size_t i = 0; i < out.size(); ++i)
        if (!allowed.data()[i]) out.data()[i] = -std::numeric_limits<float>::infinity();
    return out;
}

Matrix masked_softmax(const Matrix& scores, const Mask& allowed) {
    check_shape("attn::masked_softmax", "scores", scores, {any("T_q"), any("T_k")});
    check_shape("attn::masked_softmax", "allowed", allowed,
                {exactly("T_q", scores.shape(0)), exactly("T_k", scores.shape(1))});
    // Chapter 01's softmax already gives -inf a weight of exactly 0 and an all -inf row zeros.
    return softmax_rows(apply_mask(scores, allowed));
}

AttentionResult masked_attention(const Matrix& queries, const Matrix& keys, const Matrix& values,
                                 const Mask& allowed) {
    constexpr const char* fn = "attn::masked_attention";
    check_shape(fn, "queries", queries, {any("T_q"), any("d_k")});
    check_shape(fn, "keys", keys, {any("T_k"), exactly("d_k", queries.shape(1))});
    check_shape(fn, "values", values, {exactly("T_k", keys.shape(0)), any("d_v")});
    check_shape(fn, "allowed", allowed,
                {exactly("T_q", queries.shape(0)), exactly("T_k", keys.shape(0))});
    Matrix weights = masked_softmax(scaled_scores(queries, keys), allowed);
    Matrix output = xt::linalg::dot(weights, values);
    return {std::move(weights), std::move(output)};
}

AttentionResult causal_self_attention(const Matrix& x, const Projections& p) {
    const QKV qkv = project_qkv(x, p, "attn::causal_self_attention");
    return masked_attention(qkv.q, qkv.k, qkv.v, causal_mask(x.shape(0)));
}

Matrix mask_to_matrix(const Mask& allowed) {
    return xt::cast<float>(allowed);
}

}  // namespace attn
