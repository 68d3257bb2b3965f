// answers: 9.1
// expect 9.1: failing
// mistake: the row term sums dP alone, s_i = sum_k dP_ik, instead of sum_k dP_ik P_ik, so dS = P (dP - s) is wrong (and its rows no longer sum to 0) whenever dP is not zero
// part: the row sum
#include "exercises.hpp"

#include <xtensor/xbuilder.hpp>

namespace attn::ex09 {

Matrix softmax_backward(const Matrix& p, const Matrix& dp) {
    check_shape("attn::ex09::softmax_backward", "dp", dp,
                {exactly("T_q", p.shape(0)), exactly("T_k", p.shape(1))});
    const std::size_t T_q = p.shape(0), T_k = p.shape(1);
    Matrix ds = xt::zeros<float>({T_q, T_k});
    for (std::size_t i = 0; i < T_q; ++i) {
        double s = 0.0;
        for (std::size_t k = 0; k < T_k; ++k) s += dp(i, k);
        for (std::size_t j = 0; j < T_k; ++j)
            ds(i, j) = static_cast<float>(p(i, j) * (dp(i, j) - s));
    }
    return ds;
}

}  // namespace attn::ex09
