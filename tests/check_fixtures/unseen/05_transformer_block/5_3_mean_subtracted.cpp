// answers: 5.3
// expect 5.3: failing
// mistake: the row's mean is subtracted as in layer norm, but RMSNorm divides x itself by its root mean square
// part: mean subtraction
#include "exercises.hpp"

#include <xtensor/xbuilder.hpp>
#include <xtensor/xmath.hpp>
#include <xtensor/xview.hpp>

#include <cmath>

namespace attn::ex05 {

Matrix rms_norm(const Matrix& x, const Vector& gain, float eps) {
    constexpr const char* fn = "attn::ex05::rms_norm";
    check_shape(fn, "x", x, {any("T"), any("d_model")});
    check_shape(fn, "gain", gain, {exactly("d_model", x.shape(1))});
    Matrix out = xt::zeros<float>(x.shape());
    for (std::size_t t = 0; t < x.shape(0); ++t) {
        const auto row = xt::row(x, t);
        const float mean = xt::mean(row)();
        const float mean_square = xt::mean(xt::square(row - mean))();
        xt::row(out, t) = (row - mean) / std::sqrt(mean_square + eps) * gain;
    }
    return out;
}

}  // namespace attn::ex05
