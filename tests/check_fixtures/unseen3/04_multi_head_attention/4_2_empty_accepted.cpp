// answers: 4.2
// expect 4.2: failing
// mistake: heads is never checked, so an empty tensor such as [0, 2, 2] or [3, 0, 2] is accepted and an empty matrix is returned instead of throwing std::invalid_argument.
// part: argument checks (empty heads)
#include "exercises.hpp"

#include <xtensor/xbuilder.hpp>
#include <xtensor/xview.hpp>

namespace attn::ex04 {

Matrix merge_heads(const Tensor3& heads) {
    const std::size_t n_heads = heads.shape(0), T = heads.shape(1), d_head = heads.shape(2);
    Matrix x = xt::zeros<float>({T, n_heads * d_head});
    for (std::size_t h = 0; h < n_heads; ++h)
        xt::view(x, xt::all(), xt::range(h * d_head, (h + 1) * d_head)) =
            xt::view(heads, h, xt::all(), xt::all());
    return x;
}

}  // namespace attn::ex04
