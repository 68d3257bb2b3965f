// answers: 3.2
// expect 3.2: failing
// mistake: the softmax is taken over all keys first and the masked weights are zeroed and the rest renormalised afterwards, which agrees in exact arithmetic but gives a row of zeros (or badly rounded weights) when a masked score is so much larger that the allowed weights underflow.
// part: order of masking and softmax
#include "exercises.hpp"

#include "chapters/01_single_head_attention/single_head_attention.hpp"

namespace attn::ex03 {

Matrix masked_softmax(const Matrix& scores, const Mask& allowed) {
    constexpr const char* fn = "attn::ex03::masked_softmax";
    check_shape(fn, "scores", scores, {any("T_q"), any("T_k")});
    check_shape(fn, "allowed", allowed,
                {exactly("T_q", scores.shape(0)), exactly("T_k", scores.shape(1))});
    Matrix w = attn::softmax_rows(scores);
    for (std::size_t i = 0; i < w.shape(0); ++i) {
        float sum = 0.0f;
        for (std::size_t j = 0; j < w.shape(1); ++j) {
            if (!allowed(i, j))
                w(i, j) = 0.0f;
            else
                sum += w(i, j);
        }
        for (std::size_t j = 0; j < w.shape(1); ++j) w(i, j) = sum > 0.0f ? w(i, j) / sum : 0.0f;
    }
    return w;
}

}  // namespace attn::ex03
