// answers: 4.2
// expect 4.2: failing: should show the offending shape [0, 2, 2], as the task asks
// Merges right, but its error names the function without showing the shape of heads.
#include "exercises.hpp"

#include <xtensor/xbuilder.hpp>
#include <xtensor/xview.hpp>

namespace attn::ex04 {

Matrix merge_heads(const Tensor3& heads) {
    if (heads.size() == 0) invalid_argument("attn::ex04::merge_heads", "heads is empty");
    const std::size_t n_heads = heads.shape(0), T = heads.shape(1), d_head = heads.shape(2);
    Matrix x = xt::zeros<float>({T, n_heads * d_head});
    for (std::size_t h = 0; h < n_heads; ++h)
        xt::view(x, xt::all(), xt::range(h * d_head, (h + 1) * d_head)) =
            xt::view(heads, h, xt::all(), xt::all());
    return x;
}

}  // namespace attn::ex04
