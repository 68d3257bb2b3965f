// answers: 9.4
// expect 9.4: failing
// mistake: t = state.step + 1 is used for the bias correction but never stored back, so state.step stays 0 and every step is corrected as if it were the first; the first step is right, later ones are not
// part: counting the step
#include "exercises.hpp"

#include <cmath>
#include <string>

namespace attn::ex09 {

void adamw_step(std::vector<float>& weights, const std::vector<float>& grads, AdamState& state,
                float learning_rate, bool decays, const AdamSettings& settings) {
    constexpr const char* fn = "attn::ex09::adamw_step";
    const std::size_t n = weights.size();
    if (grads.size() != n) {
        attn::invalid_argument(fn, "grads has " + std::to_string(grads.size()) +
                                       " numbers but weights has " + std::to_string(n));
    }
    if (!state.m.empty() && state.m.size() != n) {
        attn::invalid_argument(fn, "state.m has " + std::to_string(state.m.size()) +
                                       " numbers but weights has " + std::to_string(n));
    }
    if (!state.v.empty() && state.v.size() != n) {
        attn::invalid_argument(fn, "state.v has " + std::to_string(state.v.size()) +
                                       " numbers but weights has " + std::to_string(n));
    }
    if (!(learning_rate > 0.0f) || !std::isfinite(learning_rate)) {
        attn::invalid_argument(
            fn, "learning_rate = " + std::to_string(learning_rate) + " must be finite and above 0");
    }
    if (state.m.empty()) state.m.assign(n, 0.0f);
    if (state.v.empty()) state.v.assign(n, 0.0f);

    const std::size_t t = state.step + 1;
    const double correction1 =
        1.0 - std::pow(static_cast<double>(settings.beta1), static_cast<double>(t));
    const double correction2 =
        1.0 - std::pow(static_cast<double>(settings.beta2), static_cast<double>(t));
    for (std::size_t i = 0; i < n; ++i) {
        const float g = grads[i];
        float& m = state.m[i];
        float& v = state.v[i];
        m = settings.beta1 * m + (1.0f - settings.beta1) * g;
        v = settings.beta2 * v + (1.0f - settings.beta2) * g * g;
        const double m_hat = m / correction1;
        const double v_hat = v / correction2;
        if (decays) weights[i] -= learning_rate * settings.weight_decay * weights[i];
        weights[i] -=
            static_cast<float>(learning_rate * m_hat / (std::sqrt(v_hat) + settings.epsilon));
    }
}

}  // namespace attn::ex09
