// answers: 2.1
// expect 2.1: failing
// mistake: the tokens are multiplied by W transposed (X W^T) instead of by W, which has the wrong shape unless W is square and the wrong numbers when it is
// part: matrix product order / transpose
#include "exercises.hpp"

#include <xtensor-blas/xlinalg.hpp>

namespace attn::ex02 {

Matrix project(const Matrix& x, const Matrix& w) {
    check_shape("attn::ex02::project", "x", x, {any("T"), any("d_model")});
    check_shape("attn::ex02::project", "w", w, {exactly("d_model", x.shape(1)), any("d_out")});
    return xt::linalg::dot(x, xt::transpose(w));
}

}  // namespace attn::ex02
