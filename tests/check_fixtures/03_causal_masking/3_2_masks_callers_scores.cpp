// answers: 3.2
// expect 3.2: failing: masked_softmax changed its input `scores` (const): element
// Right values, but the caller's scores are masked in place through const_cast: the masked
// ones become -inf in the caller's tensor, and the softmax is taken of them.
#include "exercises.hpp"

#include "chapters/01_single_head_attention/single_head_attention.hpp"

#include <limits>

namespace attn::ex03 {

Matrix masked_softmax(const Matrix& scores, const Mask& allowed) {
    check_shape("attn::ex03::masked_softmax", "scores", scores, {any("T_q"), any("T_k")});
    check_shape("attn::ex03::masked_softmax", "allowed", allowed,
                {exactly("T_q", scores.shape(0)), exactly("T_k", scores.shape(1))});
    Matrix& masked = const_cast<Matrix&>(scores);  // saves a copy
    for (std::size_t i = 0; i < masked.size(); ++i)
        if (!allowed.data()[i]) masked.data()[i] = -std::numeric_limits<float>::infinity();
    return softmax_rows(masked);
}

}  // namespace attn::ex03
