// answers: 9.3
// expect 9.3: failing
// mistake: the gradient is divided by vocab_size instead of by the number of positions N
// part: mean over positions: wrong divisor
#include "exercises.hpp"

#include <string>

namespace attn::ex09 {

Matrix cross_entropy_backward(const Matrix& logits, const std::vector<std::size_t>& targets) {
    constexpr const char* fn = "attn::ex09::cross_entropy_backward";
    check_shape(fn, "logits", logits, {any("N"), any("vocab_size")});
    const std::size_t n = logits.shape(0), vocab = logits.shape(1);
    if (targets.size() != n) {
        invalid_argument(fn, std::to_string(targets.size()) +
                                 " targets for N = " + std::to_string(n) + " positions");
    }
    for (std::size_t t = 0; t < n; ++t) {
        if (targets[t] >= vocab) {
            invalid_argument(fn, "target " + std::to_string(t) + " is " +
                                     std::to_string(targets[t]) + ", not below vocab_size " +
                                     std::to_string(vocab));
        }
    }
    Matrix out = attn::softmax_rows(logits);
    for (std::size_t t = 0; t < n; ++t) out(t, targets[t]) -= 1.0f;
    out /= static_cast<float>(vocab);
    return out;
}

}  // namespace attn::ex09
