// answers: 9.4
// expect 9.4: failing
// mistake: the weight decay is applied after the Adam step, to the already-updated weight, instead of before it, so each step is off by lr^2 * lambda * (the Adam update): tiny at small learning rates, visible at large ones.
// part: order of the decay and the Adam step
#include "exercises.hpp"

#include <cmath>
#include <string>

namespace attn::ex09 {
void adamw_step(std::vector<float>& weights, const std::vector<float>& grads, AdamState& state,
                float learning_rate, bool decays, const AdamSettings& settings) {
    constexpr const char* fn = "attn::ex09::adamw_step";
    const std::size_t n = weights.size();
    if (grads.size() != n) {
        invalid_argument(fn, "grads has " + std::to_string(grads.size()) +
                                 " numbers but weights has " + std::to_string(n));
    }
    if (!state.m.empty() && state.m.size() != n) {
        invalid_argument(fn, "m has " + std::to_string(state.m.size()) +
                                 " numbers but weights has " + std::to_string(n));
    }
    if (!state.v.empty() && state.v.size() != n) {
        invalid_argument(fn, "v has " + std::to_string(state.v.size()) +
                                 " numbers but weights has " + std::to_string(n));
    }
    if (!(learning_rate > 0.0f) || !std::isfinite(learning_rate)) {
        invalid_argument(
            fn, "learning_rate = " + std::to_string(learning_rate) + " must be finite and above 0");
    }
    if (state.m.empty()) state.m.assign(n, 0.0f);
    if (state.v.empty()) state.v.assign(n, 0.0f);
    const std::size_t t = ++state.step;
    const double c1 = 1.0 - std::pow(static_cast<double>(settings.beta1), static_cast<double>(t));
    const double c2 = 1.0 - std::pow(static_cast<double>(settings.beta2), static_cast<double>(t));
    for (std::size_t i = 0; i < n; ++i) {
        const float g = grads[i];
        state.m[i] = settings.beta1 * state.m[i] + (1.0f - settings.beta1) * g;
        state.v[i] = settings.beta2 * state.v[i] + (1.0f - settings.beta2) * g * g;
        const double m_hat = state.m[i] / c1, v_hat = state.v[i] / c2;
        weights[i] -=
            static_cast<float>(learning_rate * m_hat / (std::sqrt(v_hat) + settings.epsilon));
        if (decays) weights[i] -= learning_rate * settings.weight_decay * weights[i];
    }
}

}  // namespace attn::ex09
