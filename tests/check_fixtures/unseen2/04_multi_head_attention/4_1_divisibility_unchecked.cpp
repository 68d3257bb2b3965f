// answers: 4.1
// expect 4.1: failing
// mistake: n_heads = 0 is refused but d_model not being a multiple of n_heads is not: d_head is rounded down and the last d_model % n_heads columns are silently dropped
// part: the divisibility check
#include "exercises.hpp"

#include <xtensor/xbuilder.hpp>
#include <xtensor/xview.hpp>

namespace attn::ex04 {

Tensor3 split_heads(const Matrix& x, std::size_t n_heads) {
    constexpr const char* fn = "attn::ex04::split_heads";
    check_shape(fn, "x", x, {any("T"), any("d_model")});
    if (n_heads == 0) attn::invalid_argument(fn, "n_heads = 0: at least one head is needed");
    const std::size_t T = x.shape(0), d_head = x.shape(1) / n_heads;
    Tensor3 heads = xt::zeros<float>({n_heads, T, d_head});
    for (std::size_t h = 0; h < n_heads; ++h)
        xt::view(heads, h, xt::all(), xt::all()) =
            xt::view(x, xt::all(), xt::range(h * d_head, (h + 1) * d_head));
    return heads;
}

}  // namespace attn::ex04
