// answers: 9.4
// expect 9.4: failing: the decay not multiplied by the learning rate
// w -= weight_decay * w: the decay forgets the learning rate.
#include "exercises.hpp"

#include <cmath>
#include <string>

namespace attn::ex09 {

void adamw_step(std::vector<float>& weights, const std::vector<float>& grads, AdamState& state,
                float learning_rate, bool decays, const AdamSettings& settings) {
    constexpr const char* fn = "attn::ex09::adamw_step";
    const std::size_t n = weights.size();
    const auto same_size = [&](const std::vector<float>& v, const char* name, bool may_be_empty) {
        if (v.size() != n && !(may_be_empty && v.empty())) {
            invalid_argument(fn, std::string(name) + " holds " + std::to_string(v.size()) +
                                     " numbers, the weights " + std::to_string(n));
        }
    };
    same_size(grads, "grads", false);
    same_size(state.m, "state.m", true);
    same_size(state.v, "state.v", true);
    if (!(learning_rate > 0.0f) || !std::isfinite(learning_rate)) {
        invalid_argument(fn, "the learning rate must be above 0 and finite, got " +
                                 std::to_string(learning_rate));
    }
    if (state.m.empty()) state.m.assign(n, 0.0f);
    if (state.v.empty()) state.v.assign(n, 0.0f);
    ++state.step;
    const double c1 = 1.0 - std::pow(double(settings.beta1), double(state.step));
    const double c2 = 1.0 - std::pow(double(settings.beta2), double(state.step));
    for (std::size_t i = 0; i < n; ++i) {
        const float g = grads[i];
        state.m[i] = settings.beta1 * state.m[i] + (1.0f - settings.beta1) * g;
        state.v[i] = settings.beta2 * state.v[i] + (1.0f - settings.beta2) * g * g;
        if (decays) weights[i] -= settings.weight_decay * weights[i];
        const double step = (state.m[i] / c1) / (std::sqrt(state.v[i] / c2) + settings.epsilon);
        weights[i] -= static_cast<float>(learning_rate * step);
    }
}

}  // namespace attn::ex09
