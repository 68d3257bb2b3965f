// answers: 4.2
// expect 4.2: failing
// mistake: the heads are interleaved column by column (x(t, i * n_heads + h)) instead of being put side by side as contiguous blocks
// part: column range of a head
#include "exercises.hpp"

#include <xtensor/xbuilder.hpp>

namespace attn::ex04 {

Matrix merge_heads(const Tensor3& heads) {
    check_shape("attn::ex04::merge_heads", "heads", heads,
                {any("n_heads"), any("T"), any("d_head")});
    const std::size_t n_heads = heads.shape(0), T = heads.shape(1), d_head = heads.shape(2);
    Matrix x = xt::zeros<float>({T, n_heads * d_head});
    for (std::size_t h = 0; h < n_heads; ++h)
        for (std::size_t t = 0; t < T; ++t)
            for (std::size_t i = 0; i < d_head; ++i) x(t, i * n_heads + h) = heads(h, t, i);
    return x;
}

}  // namespace attn::ex04
