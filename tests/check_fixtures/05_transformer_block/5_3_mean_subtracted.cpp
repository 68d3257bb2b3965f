// answers: 5.3
// expect 5.3: failing: the mean was subtracted
// Layer norm's habit: subtracts the mean first.
#include "exercises.hpp"

#include <cmath>

namespace attn::ex05 {

Matrix rms_norm(const Matrix& x, const Vector& gain, float eps) {
    check_shape("attn::ex05::rms_norm", "x", x, {any("T"), any("d_model")});
    check_shape("attn::ex05::rms_norm", "gain", gain, {exactly("d_model", x.shape(1))});
    Matrix out = xt::zeros<float>(x.shape());
    for (std::size_t t = 0; t < x.shape(0); ++t) {
        auto row = xt::row(x, t);
        float mean = xt::mean(row)();
        float mean_square = xt::mean(xt::square(row - mean))();
        xt::row(out, t) = (row - mean) / std::sqrt(mean_square + eps) * gain;
    }
    return out;
}

}  // namespace attn::ex05
