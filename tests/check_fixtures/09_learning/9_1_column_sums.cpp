// answers: 9.1
// expect 9.1: failing: the sum of dP * P over a column
// Sums dP * P down each column (over the queries) instead of along each row.
#include "exercises.hpp"

namespace attn::ex09 {

Matrix softmax_backward(const Matrix& p, const Matrix& dp) {
    check_shape("attn::ex09::softmax_backward", "p", p, {any("T_q"), any("T_k")});
    check_shape("attn::ex09::softmax_backward", "dp", dp,
                {exactly("T_q", p.shape(0)), exactly("T_k", p.shape(1))});
    Matrix out = xt::zeros<float>(p.shape());
    for (std::size_t i = 0; i < p.shape(0); ++i) {
        // The row's weighted mean of dP: what every score's gradient is measured against.
        for (std::size_t j = 0; j < p.shape(1); ++j) {
            double s = 0.0;
            for (std::size_t r = 0; r < p.shape(0); ++r) s += double(dp(r, j)) * p(r, j);
            out(i, j) = static_cast<float>(p(i, j) * (dp(i, j) - s));
        }
    }
    return out;
}

}  // namespace attn::ex09
