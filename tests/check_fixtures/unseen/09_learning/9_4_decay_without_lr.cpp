// answers: 9.4
// expect 9.4: failing
// mistake: the decoupled weight decay subtracts weight_decay * w without the learning rate, so a decaying weight shrinks by 10% each step instead of by lr * 10%
// part: weight decay: missing learning rate
#include "exercises.hpp"

#include <cmath>
#include <string>

namespace attn::ex09 {

void adamw_step(std::vector<float>& weights, const std::vector<float>& grads, AdamState& state,
                float learning_rate, bool decays, const AdamSettings& settings) {
    constexpr const char* fn = "attn::ex09::adamw_step";
    const std::size_t n = weights.size();
    auto check_size = [&](const char* what, std::size_t size) {
        if (size != n) {
            invalid_argument(fn, std::string(what) + " has " + std::to_string(size) +
                                     " numbers but weights has " + std::to_string(n));
        }
    };
    check_size("grads", grads.size());
    if (!state.m.empty()) check_size("m", state.m.size());
    if (!state.v.empty()) check_size("v", state.v.size());
    if (!(learning_rate > 0.0f) || !std::isfinite(learning_rate)) {
        invalid_argument(fn, "the learning rate must be finite and above 0, got " +
                                 std::to_string(learning_rate));
    }
    if (state.m.empty()) state.m.assign(n, 0.0f);
    if (state.v.empty()) state.v.assign(n, 0.0f);
    ++state.step;
    const double t = static_cast<double>(state.step);
    const double c1 = 1.0 - std::pow(static_cast<double>(settings.beta1), t);
    const double c2 = 1.0 - std::pow(static_cast<double>(settings.beta2), t);
    const double lr = learning_rate;
    for (std::size_t i = 0; i < n; ++i) {
        const double g = grads[i];
        state.m[i] = static_cast<float>(settings.beta1 * state.m[i] + (1.0 - settings.beta1) * g);
        state.v[i] =
            static_cast<float>(settings.beta2 * state.v[i] + (1.0 - settings.beta2) * g * g);
        if (decays) weights[i] -= settings.weight_decay * weights[i];
        weights[i] -= static_cast<float>(lr * (state.m[i] / c1) /
                                         (std::sqrt(state.v[i] / c2) + settings.epsilon));
    }
}

}  // namespace attn::ex09
