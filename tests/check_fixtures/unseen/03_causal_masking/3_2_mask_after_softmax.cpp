// answers: 3.2
// expect 3.2: failing
// mistake: the softmax runs over all keys first and the masked weights are zeroed afterwards without renormalising, so the allowed weights no longer sum to one
// part: order of mask and softmax
#include "exercises.hpp"

#include "chapters/01_single_head_attention/single_head_attention.hpp"

namespace attn::ex03 {

Matrix masked_softmax(const Matrix& scores, const Mask& allowed) {
    check_shape("attn::ex03::masked_softmax", "scores", scores, {any("T_q"), any("T_k")});
    check_shape("attn::ex03::masked_softmax", "allowed", allowed,
                {exactly("T_q", scores.shape(0)), exactly("T_k", scores.shape(1))});
    Matrix weights = softmax_rows(scores);
    for (std::size_t i = 0; i < weights.size(); ++i)
        if (!allowed.data()[i]) weights.data()[i] = 0.0f;
    return weights;
}

}  // namespace attn::ex03
