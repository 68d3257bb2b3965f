// answers: 9.2
// expect 9.2: failing
// mistake: sigma is computed as sqrt(var) + eps instead of sqrt(var + eps), so dx and dgain are almost right for rows of unit spread but far too large for rows whose variance is near or below eps (nearly constant rows).
// part: sigma (eps outside the square root)
#include "exercises.hpp"

#include <xtensor/xbuilder.hpp>

#include <cmath>
#include <vector>

namespace attn::ex09 {

LayerNormGradients layer_norm_backward(const Matrix& x, const Vector& gain, const Matrix& dy,
                                       float eps) {
    constexpr const char* fn = "attn::ex09::layer_norm_backward";
    check_shape(fn, "x", x, {any("T"), any("d")});
    const std::size_t T = x.shape(0), d = x.shape(1);
    check_shape(fn, "gain", gain, {exactly("d", d)});
    check_shape(fn, "dy", dy, {exactly("T", T), exactly("d", d)});
    LayerNormGradients g{xt::zeros<float>({T, d}), xt::zeros<float>({d}), xt::zeros<float>({d})};
    std::vector<double> xhat(d), u(d);
    for (std::size_t t = 0; t < T; ++t) {
        double mean = 0.0;
        for (std::size_t j = 0; j < d; ++j) mean += x(t, j);
        mean /= static_cast<double>(d);
        double var = 0.0;
        for (std::size_t j = 0; j < d; ++j) var += (x(t, j) - mean) * (x(t, j) - mean);
        var /= static_cast<double>(d);
        const double sigma = std::sqrt(var) + eps;
        double mean_u = 0.0, mean_ux = 0.0;
        for (std::size_t j = 0; j < d; ++j) {
            xhat[j] = (x(t, j) - mean) / sigma;
            u[j] = static_cast<double>(dy(t, j)) * gain(j);
            mean_u += u[j];
            mean_ux += u[j] * xhat[j];
        }
        mean_u /= static_cast<double>(d);
        mean_ux /= static_cast<double>(d);
        for (std::size_t j = 0; j < d; ++j) {
            g.dx(t, j) = static_cast<float>((u[j] - mean_u - xhat[j] * mean_ux) / sigma);
            g.dgain(j) += static_cast<float>(dy(t, j) * xhat[j]);
            g.dbias(j) += dy(t, j);
        }
    }
    return g;
}

}  // namespace attn::ex09
