// answers: 9.1
// expect 9.1: failing: an index past the end of a std::array at
// A matrix has shape(0) and shape(1); shape(2) reads past the shape array (the strides, by
// chance equal to shape(1) here): _GLIBCXX_ASSERTIONS in the learner's build stops it.
// Exercise 9.1, a reference answer.
#include "exercises.hpp"

namespace attn::ex09 {

Matrix softmax_backward(const Matrix& p, const Matrix& dp) {
    check_shape("attn::ex09::softmax_backward", "p", p, {any("T_q"), any("T_k")});
    check_shape("attn::ex09::softmax_backward", "dp", dp,
                {exactly("T_q", p.shape(0)), exactly("T_k", p.shape(1))});
    Matrix out = xt::zeros<float>(p.shape());
    for (std::size_t i = 0; i < p.shape(0); ++i) {
        // The row's weighted mean of dP: what every score's gradient is measured against.
        double s = 0.0;
        for (std::size_t k = 0; k < p.shape(2); ++k) s += double(dp(i, k)) * p(i, k);
        for (std::size_t j = 0; j < p.shape(1); ++j)
            out(i, j) = static_cast<float>(p(i, j) * (dp(i, j) - s));
    }
    return out;
}

}  // namespace attn::ex09
