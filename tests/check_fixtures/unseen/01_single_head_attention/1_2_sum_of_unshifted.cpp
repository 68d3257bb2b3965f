// answers: 1.2
// expect 1.2: failing
// mistake: the numerators are shifted by the maximum but the denominator sums the unshifted exponentials, so the weights do not sum to one (unless the maximum is 0) and large logits overflow
// part: softmax denominator
#include "exercises.hpp"

#include <xtensor/xmath.hpp>
#include <xtensor/xsort.hpp>

namespace attn::ex01 {

Vector stable_softmax(const Vector& logits) {
    check_shape("attn::ex01::stable_softmax", "logits", logits, {any("T")});
    const float max = xt::amax(logits)();
    Vector e = xt::exp(logits - max);
    const float sum = xt::sum(xt::exp(logits))();
    return e / sum;
}

}  // namespace attn::ex01
