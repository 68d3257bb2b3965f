// answers: 9.3
// expect 9.3: failing
// mistake: the softmax exponentiates the raw logits without subtracting each row's maximum, so a logit above about 88 overflows exp to inf and the row becomes NaN; right for moderate logits
// part: the softmax's overflow guard
#include "exercises.hpp"

#include <xtensor/xbuilder.hpp>

#include <cmath>
#include <string>

namespace attn::ex09 {

Matrix cross_entropy_backward(const Matrix& logits, const std::vector<std::size_t>& targets) {
    constexpr const char* fn = "attn::ex09::cross_entropy_backward";
    check_shape(fn, "logits", logits, {any("N"), any("vocab_size")});
    const std::size_t N = logits.shape(0), V = logits.shape(1);
    if (targets.size() != N) {
        attn::invalid_argument(fn, "there are " + std::to_string(targets.size()) +
                                       " targets for N = " + std::to_string(N) + " positions");
    }
    for (std::size_t t = 0; t < N; ++t) {
        if (targets[t] >= V) {
            attn::invalid_argument(fn, "targets[" + std::to_string(t) +
                                           "] = " + std::to_string(targets[t]) +
                                           " is not below vocab_size = " + std::to_string(V));
        }
    }
    Matrix dz = xt::zeros<float>({N, V});
    for (std::size_t t = 0; t < N; ++t) {
        float sum = 0.0f;
        for (std::size_t j = 0; j < V; ++j) {
            dz(t, j) = std::exp(logits(t, j));
            sum += dz(t, j);
        }
        for (std::size_t j = 0; j < V; ++j) dz(t, j) /= sum;
        dz(t, targets[t]) -= 1.0f;
    }
    dz /= static_cast<float>(N);
    return dz;
}

}  // namespace attn::ex09
