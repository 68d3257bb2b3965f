#include "chapters/09_learning/adamw.hpp"

#include "common/shape.hpp"

#include <cmath>
#include <numbers>

namespace attn {

namespace {

// Every non-empty tensor of w, GptWeights or const GptWeights, in the order of parameters().
template <typename Weights, typename Float>
std::vector<ParameterViewOf<Float>> views(Weights& w) {
    std::vector<ParameterViewOf<Float>> p;
    const auto add = [&](std::string name, auto& t, bool decays) {
        if (t.size() != 0) p.push_back({std::move(name), t.data(), t.size(), decays});
    };
    add("token_embedding", w.token_embedding, false);
    add("position_embedding", w.position_embedding, false);
    for (std::size_t l = 0; l < w.blocks.size(); ++l) {
        auto& b = w.blocks[l];
        const std::string at = "blocks[" + std::to_string(l) + "].";
        add(at + "ln1_gain", b.ln1_gain, false);
        add(at + "ln1_bias", b.ln1_bias, false);
        add(at + "attention.w_q", b.attention.w_q, true);
        add(at + "attention.w_k", b.attention.w_k, true);
        add(at + "attention.w_v", b.attention.w_v, true);
        add(at + "attention.w_o", b.attention.w_o, true);
        add(at + "attention.b_q", b.attention.b_q, false);
        add(at + "attention.b_k", b.attention.b_k, false);
        add(at + "attention.b_v", b.attention.b_v, false);
        add(at + "attention.b_o", b.attention.b_o, false);
        add(at + "ln2_gain", b.ln2_gain, false);
        add(at + "ln2_bias", b.ln2_bias, false);
        add(at + "ffn.w1", b.ffn.w1, true);
        add(at + "ffn.b1", b.ffn.b1, false);
        add(at + "ffn.w2", b.ffn.w2, true);
        add(at + "ffn.b2", b.ffn.b2, false);
    }
    add("ln_f_gain", w.ln_f_gain, false);
    add("ln_f_bias", w.ln_f_bias, false);
    return p;
}

}  // namespace

std::vector<ParameterView> parameters(GptWeights& w) {
    return views<GptWeights, float>(w);
}

std::vector<ParameterViewOf<const float>> parameters(const GptWeights& w) {
    return views<const GptWeights, const float>(w);
}

AdamW::AdamW(const GptWeights& w, AdamWSettings settings) : settings_(settings) {
    for (const ParameterViewOf<const float>& p : parameters(w)) {  // the sizes, no copy
        m_.emplace_back(p.size, 0.0f);
        v_.emplace_back(p.size, 0.0f);
    }
}

void AdamW::step(GptWeights& w, GptWeights& gradients, float learning_rate) {
    constexpr const char* fn = "attn::AdamW::step";
    if (!(learning_rate > 0.0f) || !std::isfinite(learning_rate))
        invalid_argument(fn,
                         "the learning rate must be above 0, got " + std::to_string(learning_rate));
    const std::vector<ParameterView> weights = parameters(w), grads = parameters(gradients);
    if (weights.size() != m_.size() || grads.size() != weights.size())
        invalid_argument(fn,
                         "the weights or the gradients are not those of the model this "
                         "optimiser was made for");
    for (std::size_t i = 0; i < weights.size(); ++i) {
        if (weights[i].size != m_[i].size() || grads[i].size != weights[i].size) {
            invalid_argument(fn,
                             "'" + weights[i].name + "' has " + std::to_string(weights[i].size) +
                                 " numbers, its gradient " + std::to_string(grads[i].size) +
                                 " and the optimiser's moments " + std::to_string(m_[i].size()));
        }
    }
    ++steps_;
    const AdamWSettings& s = settings_;
    // The moments start at 0, so early on they are too small by these factors.
    const double correction1 = 1.0 - std::pow(static_cast<double>(s.beta1), steps_);
    const double correction2 = 1.0 - std::pow(static_cast<double>(s.beta2), steps_);
    for (std::size_t i = 0; i < weights.size(); ++i) {
        float* p = weights[i].data;
        const float* g = grads[i].data;
        std::vector<float>& m = m_[i];
        std::vector<float>& v = v_[i];
        const float decay = weights[i].decays ? learning_rate * s.weight_decay : 0.0f;
        adamw_update(p, g, m.data(), v.data(), m.size(), learning_rate, decay, s, correction1,
                     correction2);
    }
}

void adamw_update(float* w, const float* g, float* m, float* v, std::size_t n, float learning_rate,
                  float decay, const AdamWSettings& s, double correction1, double correction2) {
    for (std::size_t j = 0; j < n; ++j) {
        m[j] = s.beta1 * m[j] + (1.0f - s.beta1) * g[j];
        v[j] = s.beta2 * v[j] + (1.0f - s.beta2) * g[j] * g[j];
        const double m_hat = m[j] / correction1, v_hat = v[j] / correction2;
        w[j] -= decay * w[j];  // decoupled: not part of the gradient, so not rescaled by v
        w[j] -= static_cast<float>(learning_rate * m_hat / (std::sqrt(v_hat) + s.epsilon));
    }
}

double clip_gradients(GptWeights& gradients, double max_norm) {
    if (!(max_norm > 0.0))
        invalid_argument("attn::clip_gradients",
                         "max_norm must be above 0, got " + std::to_string(max_norm));
    const std::vector<ParameterView> g = parameters(gradients);
    double sum = 0.0;
    for (const ParameterView& p : g)
        for (std::size_t j = 0; j < p.size; ++j) sum += static_cast<double>(p.data[j]) * p.data[j];
    const double norm = std::sqrt(sum);
    if (norm > max_norm) {
        const auto scale = static_cast<float>(max_norm / norm);
        for (const ParameterView& p : g)
            for (std::size_t j = 0; j < p.size; ++j) p.data[j] *= scale;
    }
    return norm;
}

float learning_rate_at(std::size_t step, float peak, std::size_t warmup, std::size_t total,
                       float min_ratio) {
    constexpr const char* fn = "attn::learning_rate_at";
    if (!(peak > 0.0f))
        invalid_argument(fn, "the peak must be above 0, got " + std::to_string(peak));
    if (warmup > total)
        invalid_argument(fn, "warmup = " + std::to_string(warmup) +
                                 " is longer than total = " + std::to_string(total));
    if (step < warmup) return peak * static_cast<float>(step + 1) / static_cast<float>(warmup);
    if (step >= total) return peak * min_ratio;
    // From 1 at the end of the warm-up to 0 at `total`, along half a cosine.
    const double progress =
        static_cast<double>(step - warmup) / static_cast<double>(total - warmup);
    const double cosine = 0.5 * (1.0 + std::cos(std::numbers::pi * progress));
    return static_cast<float>(peak * (min_ratio + (1.0 - min_ratio) * cosine));
}

}  // namespace attn
