// answers: 2.1
// expect 2.1: passing
// The hint followed literally: xt::linalg::dot(x, w), after the shape checks.
#include "exercises.hpp"

namespace attn::ex02 {

Matrix project(const Matrix& x, const Matrix& w) {
    check_shape("attn::ex02::project", "x", x, {any("T"), any("d_model")});
    check_shape("attn::ex02::project", "w", w, {exactly("d_model", x.shape(1)), any("d_out")});
    return xt::linalg::dot(x, w);
}

}  // namespace attn::ex02
