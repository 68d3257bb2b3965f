#include "chapters/09_learning/llama_parameters.hpp"

#include "common/shape.hpp"

#include <algorithm>
#include <cmath>
#include <memory>

namespace attn {

LlamaParameters::LlamaParameters(const LlamaConfig& c) : config_(c) {
    constexpr const char* fn = "attn::LlamaParameters";
    check_config(c, fn);
    if (!c.shared_classifier)
        invalid_argument(fn, "the classifier must be the token embedding (shared_classifier)");
    const std::size_t d = c.dim, d_head = c.dim / c.n_heads, q = c.n_heads * d_head,
                      kv = c.n_kv_heads * d_head, f = c.hidden_dim;
    std::size_t offset = 0;
    const auto add = [&](std::string name, std::size_t rows, std::size_t cols, bool decays) {
        slots_.push_back({std::move(name), offset, rows * cols, rows, cols, decays});
        offset += rows * cols;
    };
    add("token_embedding", c.vocab_size, d, false);
    // llama2.c's order: one kind of tensor for every layer, then the next kind.
    const auto every_layer = [&](const char* kind, std::size_t rows, std::size_t cols,
                                 bool decays) {
        for (std::size_t l = 0; l < c.n_layers; ++l)
            add("layers[" + std::to_string(l) + "]." + kind, rows, cols, decays);
    };
    every_layer("attention_norm", d, 1, false);
    every_layer("w_q", q, d, true);
    every_layer("w_k", kv, d, true);
    every_layer("w_v", kv, d, true);
    every_layer("w_o", d, q, true);
    every_layer("ffn_norm", d, 1, false);
    every_layer("w_gate", f, d, true);
    every_layer("w_down", d, f, true);
    every_layer("w_up", f, d, true);
    add("final_norm", d, 1, false);
    values_.assign(offset, 0.0f);
}

namespace {

// The views of a buffer laid out as LlamaParameters lays it out; T is float or const float.
template <class T>
LlamaTensors<T> views(T* base, const std::vector<TensorSlot>& slots, std::size_t n_layers) {
    LlamaTensors<T> t{base + slots[0].offset, std::vector<LlamaLayerTensors<T>>(n_layers),
                      base + slots.back().offset};
    const auto at = [&](std::size_t kind, std::size_t l) {
        return base + slots[1 + kind * n_layers + l].offset;
    };
    for (std::size_t l = 0; l < n_layers; ++l)
        t.layers[l] = {at(0, l), at(1, l), at(2, l), at(3, l), at(4, l),
                       at(5, l), at(6, l), at(8, l), at(7, l)};  // gate, up, down
    return t;
}

}  // namespace

LlamaTensors<float> LlamaParameters::tensors() {
    return views<float>(values_.data(), slots_, config_.n_layers);
}

LlamaTensors<const float> LlamaParameters::tensors() const {
    return views<const float>(values_.data(), slots_, config_.n_layers);
}

void LlamaParameters::zero() {
    std::fill(values_.begin(), values_.end(), 0.0f);
}

LlamaParameters llama_init(const LlamaConfig& c, Rng& rng) {
    LlamaParameters p(c);
    const float residual_scale = 1.0f / std::sqrt(2.0f * static_cast<float>(c.n_layers));
    for (const TensorSlot& s : p.slots()) {
        float* w = p.data() + s.offset;
        if (s.cols == 1) {
            std::fill_n(w, s.size, 1.0f);  // a norm's gain
            continue;
        }
        const bool into_residual = s.name.ends_with(".w_o") || s.name.ends_with(".w_down");
        const float stddev = 0.02f * (into_residual ? residual_scale : 1.0f);
        for (std::size_t i = 0; i < s.size; ++i) w[i] = stddev * rng.normal();
    }
    return p;
}

Llama to_llama(const LlamaParameters& p) {
    const LlamaConfig& c = p.config();
    const auto numbers = std::make_shared<const std::vector<float>>(p.data(), p.data() + p.size());
    const LlamaTensors<const float> t = p.tensors();
    const float* base = p.data();
    // A view of the copy at the place the tensor has in p.
    const auto matrix = [&](const float* at, std::size_t out, std::size_t in) {
        return LinearWeight(numbers->data() + (at - base), out, in, numbers);
    };
    const auto gain = [&](const float* at) {
        Vector g = xt::zeros<float>({c.dim});
        std::copy_n(at, c.dim, g.data());
        return g;
    };
    const std::size_t d = c.dim, q = c.n_heads * (c.dim / c.n_heads),
                      kv = c.n_kv_heads * (c.dim / c.n_heads), f = c.hidden_dim;
    LlamaWeights w;
    w.token_embedding = matrix(t.token_embedding, c.vocab_size, d);
    for (const LlamaLayerTensors<const float>& l : t.layers) {
        w.layers.push_back({gain(l.attention_norm), matrix(l.w_q, q, d), matrix(l.w_k, kv, d),
                            matrix(l.w_v, kv, d), matrix(l.w_o, d, q), gain(l.ffn_norm),
                            matrix(l.w_gate, f, d), matrix(l.w_up, f, d), matrix(l.w_down, d, f)});
    }
    w.final_norm = gain(t.final_norm);
    w.classifier = w.token_embedding;
    return Llama(c, std::move(w));
}

LlamaParameters from_llama(const Llama& model) {
    const LlamaWeights& w = model.weights();
    if (w.classifier.data() != w.token_embedding.data())
        invalid_argument("attn::from_llama", "the classifier must be the token embedding (tied)");
    LlamaParameters p(model.config());
    LlamaTensors<float> t = p.tensors();
    const auto copy = [](const LinearWeight& from, float* to) {
        std::copy_n(from.data(), from.out() * from.in(), to);
    };
    const auto copy_gain = [](const Vector& from, float* to) {
        std::copy(from.begin(), from.end(), to);
    };
    copy(w.token_embedding, t.token_embedding);
    for (std::size_t l = 0; l < w.layers.size(); ++l) {
        const LlamaLayer& from = w.layers[l];
        LlamaLayerTensors<float>& to = t.layers[l];
        copy_gain(from.attention_norm, to.attention_norm);
        copy(from.w_q, to.w_q);
        copy(from.w_k, to.w_k);
        copy(from.w_v, to.w_v);
        copy(from.w_o, to.w_o);
        copy_gain(from.ffn_norm, to.ffn_norm);
        copy(from.w_gate, to.w_gate);
        copy(from.w_up, to.w_up);
        copy(from.w_down, to.w_down);
    }
    copy_gain(w.final_norm, t.final_norm);
    return p;
}

BufferAdamW::BufferAdamW(const LlamaParameters& p, AdamWSettings settings)
    : settings_(settings), m_(p.size(), 0.0f), v_(p.size(), 0.0f) {}

void BufferAdamW::step(LlamaParameters& p, const LlamaParameters& gradients, float learning_rate) {
    constexpr const char* fn = "attn::BufferAdamW::step";
    if (!(learning_rate > 0.0f) || !std::isfinite(learning_rate))
        invalid_argument(fn,
                         "the learning rate must be above 0, got " + std::to_string(learning_rate));
    if (p.size() != m_.size() || gradients.size() != m_.size()) {
        invalid_argument(fn, "the weights hold " + std::to_string(p.size()) +
                                 " numbers, the gradients " + std::to_string(gradients.size()) +
                                 " and the optimiser's moments " + std::to_string(m_.size()));
    }
    ++steps_;
    const AdamWSettings& s = settings_;
    const double correction1 = 1.0 - std::pow(static_cast<double>(s.beta1), steps_);
    const double correction2 = 1.0 - std::pow(static_cast<double>(s.beta2), steps_);
    // The slots only say where the decay applies: the update is one loop over each run.
    for (const TensorSlot& slot : p.slots()) {
        const std::size_t i = slot.offset;
        adamw_update(p.data() + i, gradients.data() + i, m_.data() + i, v_.data() + i, slot.size,
                     learning_rate, slot.decays ? learning_rate * s.weight_decay : 0.0f, s,
                     correction1, correction2);
    }
}

double clip_gradients(LlamaParameters& gradients, double max_norm) {
    if (!(max_norm > 0.0))
        invalid_argument("attn::clip_gradients",
                         "max_norm must be above 0, got " + std::to_string(max_norm));
    float* g = gradients.data();
    double sum = 0.0;
    for (std::size_t i = 0; i < gradients.size(); ++i) sum += static_cast<double>(g[i]) * g[i];
    const double norm = std::sqrt(sum);
    if (norm > max_norm) {
        const auto scale = static_cast<float>(max_norm / norm);
        for (std::size_t i = 0; i < gradients.size(); ++i) g[i] *= scale;
    }
    return norm;
}

}  // namespace attn
