// answers: 5.3
// expect 5.3: failing
// mistake: the row is divided by the square root of the sum of squares (its length) instead of the mean of squares: the 1/d is missing
// part: mean of squares
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
        const float sum_square = xt::sum(xt::square(row))();
        xt::row(out, t) = row / std::sqrt(sum_square + eps) * gain;
    }
    return out;
}

}  // namespace attn::ex05
