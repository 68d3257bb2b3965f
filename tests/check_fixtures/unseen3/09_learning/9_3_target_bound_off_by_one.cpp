// answers: 9.3
// expect 9.3: failing
// mistake: a target is refused only when it is above vocab_size (> instead of >=), so a target equal to vocab_size is accepted and the -1 is written one past the end of its row: into the next row's first logit, or past the matrix on the last row.
// part: argument checks (a target's upper bound)
#include "exercises.hpp"

#include <string>

namespace attn::ex09 {

Matrix cross_entropy_backward(const Matrix& logits, const std::vector<std::size_t>& targets) {
    constexpr const char* fn = "attn::ex09::cross_entropy_backward";
    check_shape(fn, "logits", logits, {any("N"), any("vocab_size")});
    const std::size_t N = logits.shape(0), V = logits.shape(1);
    if (targets.size() != N) {
        invalid_argument(fn, "targets has " + std::to_string(targets.size()) +
                                 " ids but logits has N = " + std::to_string(N) + " rows");
    }
    for (std::size_t t = 0; t < N; ++t) {
        if (targets[t] > V) {
            invalid_argument(fn, "targets[" + std::to_string(t) +
                                     "] = " + std::to_string(targets[t]) +
                                     " is not below vocab_size = " + std::to_string(V));
        }
    }
    Matrix dz = attn::softmax_rows(logits);
    for (std::size_t t = 0; t < N; ++t) dz(t, targets[t]) -= 1.0f;
    dz /= static_cast<float>(N);
    return dz;
}

}  // namespace attn::ex09
