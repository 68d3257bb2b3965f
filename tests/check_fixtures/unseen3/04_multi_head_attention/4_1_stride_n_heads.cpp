// answers: 4.1
// expect 4.1: failing
// mistake: head h starts at column h * n_heads instead of h * d_head, which is right only when n_heads equals d_head; otherwise the heads overlap or skip columns, and with n_heads > d_head the last head reads past the row (past the matrix on the last row).
// part: the column offset of a head
#include "exercises.hpp"

#include <xtensor/xbuilder.hpp>

#include <string>

namespace attn::ex04 {

Tensor3 split_heads(const Matrix& x, std::size_t n_heads) {
    constexpr const char* fn = "attn::ex04::split_heads";
    check_shape(fn, "x", x, {any("T"), any("d_model")});
    if (n_heads == 0) invalid_argument(fn, "n_heads = 0: there must be at least one head");
    const std::size_t T = x.shape(0), d_model = x.shape(1);
    if (d_model % n_heads != 0) {
        invalid_argument(fn, "d_model = " + std::to_string(d_model) +
                                 " is not a multiple of n_heads = " + std::to_string(n_heads));
    }
    const std::size_t d_head = d_model / n_heads;
    Tensor3 heads = xt::zeros<float>({n_heads, T, d_head});
    for (std::size_t h = 0; h < n_heads; ++h)
        for (std::size_t t = 0; t < T; ++t)
            for (std::size_t i = 0; i < d_head; ++i) heads(h, t, i) = x(t, h * n_heads + i);
    return heads;
}

}  // namespace attn::ex04
