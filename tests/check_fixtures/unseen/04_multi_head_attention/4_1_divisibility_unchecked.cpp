// answers: 4.1
// expect 4.1: failing
// mistake: d_model is never checked to be a multiple of n_heads: the integer division d_model / n_heads silently drops the leftover columns instead of throwing
// part: argument check: n_heads divides d_model
#include "exercises.hpp"

#include <xtensor/xbuilder.hpp>
#include <xtensor/xview.hpp>

#include <string>

namespace attn::ex04 {

Tensor3 split_heads(const Matrix& x, std::size_t n_heads) {
    constexpr const char* fn = "attn::ex04::split_heads";
    check_shape(fn, "x", x, {any("T"), any("d_model")});
    if (n_heads == 0) invalid_argument(fn, "argument 'n_heads' must be at least 1, got 0");
    const std::size_t T = x.shape(0), d_model = x.shape(1);
    const std::size_t d_head = d_model / n_heads;
    Tensor3 heads = xt::zeros<float>({n_heads, T, d_head});
    for (std::size_t h = 0; h < n_heads; ++h)
        xt::view(heads, h, xt::all(), xt::all()) =
            xt::view(x, xt::all(), xt::range(h * d_head, (h + 1) * d_head));
    return heads;
}

}  // namespace attn::ex04
