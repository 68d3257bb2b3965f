// Exercise 3.2, reference answer.
#include "exercises.hpp"

#include "chapters/01_single_head_attention/single_head_attention.hpp"

#include <limits>

namespace attn::ex03 {

Matrix masked_softmax(const Matrix& scores, const Mask& allowed) {
    check_shape("attn::ex03::masked_softmax", "scores", scores, {any("T_q"), any("T_k")});
    check_shape("attn::ex03::masked_softmax", "allowed", allowed,
                {exactly("T_q", scores.shape(0)), exactly("T_k", scores.shape(1))});
    Matrix masked = scores;
    for (std::size_t i = 0; i < masked.size(); ++i)
        if (!allowed.data()[i]) masked.data()[i] = -std::numeric_limits<float>::infinity();
    // Chapter 01's softmax gives -inf exactly 0 and a row of only -inf all zeros.
    return softmax_rows(masked);
}

}  // namespace attn::ex03
