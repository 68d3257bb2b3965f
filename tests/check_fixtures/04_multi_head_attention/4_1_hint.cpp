// answers: 4.1
// expect 4.1: passing
// The hint followed literally: xt::zeros, then one xt::view assignment per head.
#include "exercises.hpp"

#include <string>

namespace attn::ex04 {

Tensor3 split_heads(const Matrix& x, std::size_t n_heads) {
    check_shape("attn::ex04::split_heads", "x", x, {any("T"), any("d_model")});
    if (n_heads == 0 || x.shape(1) % n_heads != 0)
        invalid_argument("attn::ex04::split_heads",
                         "d_model = " + std::to_string(x.shape(1)) +
                             " is not a multiple of n_heads = " + std::to_string(n_heads));
    const std::size_t T = x.shape(0), d_head = x.shape(1) / n_heads;
    Tensor3 heads = xt::zeros<float>({n_heads, T, d_head});
    for (std::size_t h = 0; h < n_heads; ++h)
        xt::view(heads, h, xt::all(), xt::all()) =
            xt::view(x, xt::all(), xt::range(h * d_head, (h + 1) * d_head));
    return heads;
}

}  // namespace attn::ex04
