// answers: 1.4
// expect 1.4: failing: the heap was corrupted
// Writes past the end of its tensor: glibc finds the heap corrupted and aborts (before, the
// check waited for its time limit and called it an endless loop).
#include "exercises.hpp"

namespace attn::ex01 {

Matrix attention_weights(const Matrix& queries, const Matrix& keys) {
    check_shape("attn::ex01::attention_weights", "queries", queries, {any("T_q"), any("d_k")});
    check_shape("attn::ex01::attention_weights", "keys", keys,
                {any("T_k"), exactly("d_k", queries.shape(1))});
    Matrix out = xt::zeros<float>({queries.shape(0), keys.shape(0)});
    float* past_the_end = out.data() + out.size();
    for (std::size_t i = 0; i < 64; ++i) past_the_end[i] = 1e30f;
    return out;
}

}  // namespace attn::ex01
