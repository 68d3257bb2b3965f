// answers: 9.2
// expect 9.2: failing
// mistake: dx subtracts only xhat * mean(u * xhat) and forgets the mean(u) term, so a gradient equal in every feature no longer gives dx = 0
// part: dx: mean(u) term
#include "exercises.hpp"

#include <cmath>
#include <vector>

namespace attn::ex09 {

LayerNormGradients layer_norm_backward(const Matrix& x, const Vector& gain, const Matrix& dy,
                                       float eps) {
    constexpr const char* fn = "attn::ex09::layer_norm_backward";
    check_shape(fn, "x", x, {any("T"), any("d")});
    const std::size_t rows = x.shape(0), d = x.shape(1);
    check_shape(fn, "gain", gain, {exactly("d", d)});
    check_shape(fn, "dy", dy, {exactly("T", rows), exactly("d", d)});
    LayerNormGradients out{Matrix::from_shape({rows, d}), Vector::from_shape({d}),
                           Vector::from_shape({d})};
    out.dgain.fill(0.0f);
    out.dbias.fill(0.0f);
    std::vector<double> xhat(d), u(d);
    for (std::size_t t = 0; t < rows; ++t) {
        double mu = 0.0;
        for (std::size_t j = 0; j < d; ++j) mu += x(t, j);
        mu /= static_cast<double>(d);
        double var = 0.0;
        for (std::size_t j = 0; j < d; ++j) var += (x(t, j) - mu) * (x(t, j) - mu);
        var /= static_cast<double>(d);
        const double sigma = std::sqrt(var + eps);
        double mean_u = 0.0, mean_uxhat = 0.0;
        for (std::size_t j = 0; j < d; ++j) {
            xhat[j] = (x(t, j) - mu) / sigma;
            u[j] = dy(t, j) * gain(j);
            mean_u += u[j];
            mean_uxhat += u[j] * xhat[j];
        }
        mean_u /= static_cast<double>(d);
        mean_uxhat /= static_cast<double>(d);
        for (std::size_t j = 0; j < d; ++j) {
            out.dx(t, j) = static_cast<float>((u[j] - xhat[j] * mean_uxhat) / sigma);
            out.dgain(j) += static_cast<float>(dy(t, j) * xhat[j]);
            out.dbias(j) += dy(t, j);
        }
    }
    return out;
}

}  // namespace attn::ex09
