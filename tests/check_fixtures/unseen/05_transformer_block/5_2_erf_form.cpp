// answers: 5.2
// expect 5.2: failing
// mistake: it computes the exact erf form x / 2 (1 + erf(x / sqrt 2)) instead of GPT-2's tanh approximation; the two differ by at most about 5e-4 (near |x| = 2.7)
// part: GELU formula (erf instead of tanh)
#include "exercises.hpp"

#include <xtensor/xmath.hpp>

#include <cmath>

namespace attn::ex05 {

Matrix gelu_tanh(const Matrix& x) {
    check_shape("attn::ex05::gelu_tanh", "x", x, {any("rows"), any("cols")});
    return 0.5f * x * (1.0f + xt::erf(x / std::sqrt(2.0f)));
}

}  // namespace attn::ex05
