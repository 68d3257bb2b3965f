// answers: 3.2
// expect 3.2: failing
// mistake: the masked scores are set to 0 instead of -inf before the softmax, so masked keys still get weight e^0 / sum, not exactly 0
// part: mask fill value
#include "exercises.hpp"

#include "chapters/01_single_head_attention/single_head_attention.hpp"

namespace attn::ex03 {

Matrix masked_softmax(const Matrix& scores, const Mask& allowed) {
    check_shape("attn::ex03::masked_softmax", "scores", scores, {any("T_q"), any("T_k")});
    check_shape("attn::ex03::masked_softmax", "allowed", allowed,
                {exactly("T_q", scores.shape(0)), exactly("T_k", scores.shape(1))});
    Matrix masked = scores;
    for (std::size_t i = 0; i < masked.size(); ++i)
        if (!allowed.data()[i]) masked.data()[i] = 0.0f;
    return softmax_rows(masked);
}

}  // namespace attn::ex03
