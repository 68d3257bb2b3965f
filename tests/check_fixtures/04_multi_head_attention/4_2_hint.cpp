// answers: 4.2
// expect 4.2: passing
// The hint followed literally: 4.1's assignment the other way round.
#include "exercises.hpp"

namespace attn::ex04 {

Matrix merge_heads(const Tensor3& heads) {
    check_shape("attn::ex04::merge_heads", "heads", heads,
                {any("n_heads"), any("T"), any("d_head")});
    const std::size_t n_heads = heads.shape(0), T = heads.shape(1), d_head = heads.shape(2);
    Matrix x = xt::zeros<float>({T, n_heads * d_head});
    for (std::size_t h = 0; h < n_heads; ++h)
        xt::view(x, xt::all(), xt::range(h * d_head, (h + 1) * d_head)) =
            xt::view(heads, h, xt::all(), xt::all());
    return x;
}

}  // namespace attn::ex04
