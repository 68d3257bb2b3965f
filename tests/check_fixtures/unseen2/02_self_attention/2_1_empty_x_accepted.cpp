// answers: 2.1
// expect 2.1: failing
// mistake: only checks that w has as many rows as x has columns; an empty x (e.g. [0, 3]) or an empty w is not refused
// part: the empty-input check
#include "exercises.hpp"

#include <xtensor-blas/xlinalg.hpp>

#include <string>

namespace attn::ex02 {

Matrix project(const Matrix& x, const Matrix& w) {
    if (w.shape(0) != x.shape(1)) {
        attn::invalid_argument("attn::ex02::project",
                               "argument 'w' must have d_model = " + std::to_string(x.shape(1)) +
                                   " rows, but has shape " + attn::shape_of(w));
    }
    Matrix y = xt::linalg::dot(x, w);
    return y;
}

}  // namespace attn::ex02
