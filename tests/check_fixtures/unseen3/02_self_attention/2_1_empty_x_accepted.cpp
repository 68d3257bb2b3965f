// answers: 2.1
// expect 2.1: failing
// mistake: only checks that w has as many rows as x has columns, so an empty x (no tokens, or no features with a w of no rows) is accepted and an empty or all-zero product is returned instead of throwing.
// part: argument checks (x is never checked for emptiness)
#include "exercises.hpp"

#include <xtensor/xbuilder.hpp>

#include <string>

namespace attn::ex02 {

Matrix project(const Matrix& x, const Matrix& w) {
    if (x.shape(1) != w.shape(0)) {
        invalid_argument("attn::ex02::project",
                         "w must have d_model = " + std::to_string(x.shape(1)) +
                             " rows, but has shape " + shape_of(w));
    }
    const std::size_t T = x.shape(0), d_model = x.shape(1), d_out = w.shape(1);
    Matrix y = xt::zeros<float>({T, d_out});
    for (std::size_t t = 0; t < T; ++t)
        for (std::size_t i = 0; i < d_model; ++i)
            for (std::size_t o = 0; o < d_out; ++o) y(t, o) += x(t, i) * w(i, o);
    return y;
}

}  // namespace attn::ex02
