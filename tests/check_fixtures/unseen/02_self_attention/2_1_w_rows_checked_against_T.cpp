// answers: 2.1
// expect 2.1: failing
// mistake: the rows of w are checked against T (x.shape(0)) instead of d_model (x.shape(1)), so a valid w is rejected whenever T differs from d_model
// part: argument check: which dimension
#include "exercises.hpp"

#include <xtensor-blas/xlinalg.hpp>

namespace attn::ex02 {

Matrix project(const Matrix& x, const Matrix& w) {
    check_shape("attn::ex02::project", "x", x, {any("T"), any("d_model")});
    check_shape("attn::ex02::project", "w", w, {exactly("d_model", x.shape(0)), any("d_out")});
    return xt::linalg::dot(x, w);
}

}  // namespace attn::ex02
