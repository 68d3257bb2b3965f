// answers: 9.1
// expect 9.1: failing
// mistake: the row's sum is written inside the loop over j as sum_k dP(i,k) * P(i,j), with the P of the current entry instead of P(i,k), so it becomes P(i,j) times the row sum of dP: right only when the row's weights are all equal.
// part: the row sum (index typo, j for k)
#include "exercises.hpp"

#include <xtensor/xbuilder.hpp>

namespace attn::ex09 {

Matrix softmax_backward(const Matrix& p, const Matrix& dp) {
    constexpr const char* fn = "attn::ex09::softmax_backward";
    check_shape(fn, "p", p, {any("T_q"), any("T_k")});
    check_shape(fn, "dp", dp, {exactly("T_q", p.shape(0)), exactly("T_k", p.shape(1))});
    const std::size_t T_q = p.shape(0), T_k = p.shape(1);
    Matrix ds = xt::zeros<float>({T_q, T_k});
    for (std::size_t i = 0; i < T_q; ++i) {
        for (std::size_t j = 0; j < T_k; ++j) {
            double s = 0.0;
            for (std::size_t k = 0; k < T_k; ++k) s += static_cast<double>(dp(i, k)) * p(i, j);
            ds(i, j) = static_cast<float>(p(i, j) * (dp(i, j) - s));
        }
    }
    return ds;
}

}  // namespace attn::ex09
