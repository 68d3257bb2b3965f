// answers: 9.1
// expect 9.1: failing
// mistake: dp's shape is checked only for its number of rows, not its number of columns, so a dp with a different T_k than p is accepted instead of throwing
// part: argument check: dp's T_k
#include "exercises.hpp"

namespace attn::ex09 {

Matrix softmax_backward(const Matrix& p, const Matrix& dp) {
    constexpr const char* fn = "attn::ex09::softmax_backward";
    check_shape(fn, "p", p, {any("T_q"), any("T_k")});
    check_shape(fn, "dp", dp, {exactly("T_q", p.shape(0)), any("T_k")});
    const std::size_t rows = p.shape(0), cols = p.shape(1);
    Matrix out = Matrix::from_shape({rows, cols});
    for (std::size_t i = 0; i < rows; ++i) {
        double s = 0.0;
        for (std::size_t k = 0; k < cols; ++k) s += dp(i, k) * p(i, k);
        for (std::size_t j = 0; j < cols; ++j)
            out(i, j) = static_cast<float>(p(i, j) * (dp(i, j) - s));
    }
    return out;
}

}  // namespace attn::ex09
