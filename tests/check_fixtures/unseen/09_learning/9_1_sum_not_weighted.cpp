// answers: 9.1
// expect 9.1: failing
// mistake: the row sum adds up dP alone instead of dP * P, so the subtracted term is sum_k dP_ik rather than sum_k dP_ik P_ik
// part: row sum: missing P factor
#include "exercises.hpp"

namespace attn::ex09 {

Matrix softmax_backward(const Matrix& p, const Matrix& dp) {
    constexpr const char* fn = "attn::ex09::softmax_backward";
    check_shape(fn, "p", p, {any("T_q"), any("T_k")});
    check_shape(fn, "dp", dp, {exactly("T_q", p.shape(0)), exactly("T_k", p.shape(1))});
    const std::size_t rows = p.shape(0), cols = p.shape(1);
    Matrix out = Matrix::from_shape({rows, cols});
    for (std::size_t i = 0; i < rows; ++i) {
        double s = 0.0;
        for (std::size_t k = 0; k < cols; ++k) s += dp(i, k);
        for (std::size_t j = 0; j < cols; ++j)
            out(i, j) = static_cast<float>(p(i, j) * (dp(i, j) - s));
    }
    return out;
}

}  // namespace attn::ex09
