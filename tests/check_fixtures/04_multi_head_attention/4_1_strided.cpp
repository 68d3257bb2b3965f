// answers: 4.1
// expect 4.1: failing: heads split by stride
// Head h takes every n_heads-th column, starting at h.
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
        for (std::size_t t = 0; t < T; ++t)
            for (std::size_t i = 0; i < d_head; ++i) heads(h, t, i) = x(t, i * n_heads + h);
    return heads;
}

}  // namespace attn::ex04
