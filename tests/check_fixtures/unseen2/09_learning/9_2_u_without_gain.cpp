// answers: 9.2
// expect 9.2: failing
// mistake: u is taken as dy instead of dy * gain, so dx leaves out the gain; dgain and dbias are right, and dx is right only when every gain is 1
// part: the gain in dx
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

    LayerNormGradients g;
    g.dx = xt::zeros<float>({T, d});
    g.dgain = xt::zeros<float>({d});
    g.dbias = xt::zeros<float>({d});
    const double n = static_cast<double>(d);
    std::vector<double> xhat(d);
    for (std::size_t t = 0; t < T; ++t) {
        double mean = 0.0;
        for (std::size_t j = 0; j < d; ++j) mean += x(t, j);
        mean /= n;
        double variance = 0.0;
        for (std::size_t j = 0; j < d; ++j) variance += (x(t, j) - mean) * (x(t, j) - mean);
        variance /= n;
        const double sigma = std::sqrt(variance + eps);
        for (std::size_t j = 0; j < d; ++j) xhat[j] = (x(t, j) - mean) / sigma;

        double mean_u = 0.0, mean_u_xhat = 0.0;
        for (std::size_t j = 0; j < d; ++j) {
            const double u = dy(t, j);
            mean_u += u;
            mean_u_xhat += u * xhat[j];
        }
        mean_u /= n;
        mean_u_xhat /= n;
        for (std::size_t j = 0; j < d; ++j) {
            const double u = dy(t, j);
            g.dx(t, j) = static_cast<float>((u - mean_u - xhat[j] * mean_u_xhat) / sigma);
            g.dgain(j) += static_cast<float>(dy(t, j) * xhat[j]);
            g.dbias(j) += dy(t, j);
        }
    }
    return g;
}

}  // namespace attn::ex09
