// answers: 4.2
// expect 4.2: failing
// mistake: the shape check was copied from 4.1 with its function name, so an empty heads tensor is refused with a message naming attn::ex04::split_heads instead of merge_heads
// part: the function named in the error
#include "exercises.hpp"

#include <xtensor/xbuilder.hpp>
#include <xtensor/xview.hpp>

namespace attn::ex04 {

Matrix merge_heads(const Tensor3& heads) {
    check_shape("attn::ex04::split_heads", "heads", heads,
                {any("n_heads"), any("T"), any("d_head")});
    const std::size_t n_heads = heads.shape(0), T = heads.shape(1), d_head = heads.shape(2);
    Matrix x = xt::zeros<float>({T, n_heads * d_head});
    for (std::size_t h = 0; h < n_heads; ++h)
        xt::view(x, xt::all(), xt::range(h * d_head, (h + 1) * d_head)) =
            xt::view(heads, h, xt::all(), xt::all());
    return x;
}

}  // namespace attn::ex04
