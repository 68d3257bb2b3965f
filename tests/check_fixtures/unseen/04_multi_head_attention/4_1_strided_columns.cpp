// answers: 4.1
// expect 4.1: failing
// mistake: each head takes every n_heads-th column (x(t, i * n_heads + h)) instead of its contiguous block of d_head columns
// part: column range of a head
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
    if (d_model % n_heads != 0) {
        invalid_argument(fn, "d_model = " + std::to_string(d_model) +
                                 " is not a multiple of n_heads = " + std::to_string(n_heads));
    }
    const std::size_t d_head = d_model / n_heads;
    Tensor3 heads = xt::zeros<float>({n_heads, T, d_head});
    for (std::size_t h = 0; h < n_heads; ++h)
        for (std::size_t t = 0; t < T; ++t)
            for (std::size_t i = 0; i < d_head; ++i) heads(h, t, i) = x(t, i * n_heads + h);
    return heads;
}

}  // namespace attn::ex04
