// answers: 9.1
// expect 9.1: failing
// mistake: the sum of dP * P is taken down each column (over the queries i for key j) instead of along each row (over the keys k), so dS uses a column's sum and its rows no longer sum to 0
// part: row sum: wrong axis
#include "exercises.hpp"

namespace attn::ex09 {

Matrix softmax_backward(const Matrix& p, const Matrix& dp) {
    constexpr const char* fn = "attn::ex09::softmax_backward";
    check_shape(fn, "p", p, {any("T_q"), any("T_k")});
    check_shape(fn, "dp", dp, {exactly("T_q", p.shape(0)), exactly("T_k", p.shape(1))});
    const std::size_t rows = p.shape(0), cols = p.shape(1);
    Matrix out = Matrix::from_shape({rows, cols});
    for (std::size_t i = 0; i < rows; ++i) {
        for (std::size_t j = 0; j < cols; ++j) {
            double s = 0.0;
            for (std::size_t k = 0; k < rows; ++k) s += dp(k, j) * p(k, j);
            out(i, j) = static_cast<float>(p(i, j) * (dp(i, j) - s));
        }
    }
    return out;
}

}  // namespace attn::ex09
