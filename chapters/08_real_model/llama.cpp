#include "chapters/08_real_model/llama.hpp"

#include "chapters/03_causal_masking/causal_masking.hpp"
#include "chapters/08_real_model/decode_kernels.hpp"
#include "common/shape.hpp"

#include <xtensor/xbuilder.hpp>
#include <xtensor/xview.hpp>

#include <algorithm>
#include <cmath>
#include <numeric>
#include <string>

namespace attn {

LlamaConfig stories15m_config() {
    LlamaConfig c;
    c.dim = 288;
    c.hidden_dim = 768;
    c.n_layers = 6;
    c.n_heads = 6;
    c.n_kv_heads = 6;
    c.vocab_size = 32000;
    c.seq_len = 256;
    return c;
}

void check_config(const LlamaConfig& c, const char* caller) {
    if (c.dim == 0 || c.hidden_dim == 0 || c.n_layers == 0 || c.vocab_size == 0 || c.seq_len == 0) {
        invalid_argument(caller,
                         "dim, hidden_dim, n_layers, vocab_size and seq_len must be at least 1, "
                         "got " +
                             std::to_string(c.dim) + ", " + std::to_string(c.hidden_dim) + ", " +
                             std::to_string(c.n_layers) + ", " + std::to_string(c.vocab_size) +
                             ", " + std::to_string(c.seq_len));
    }
    const std::size_t d_head = head_size(c.dim, c.n_heads, caller);
    check_kv_heads(caller, c.n_heads, c.n_kv_heads);
    if (d_head % 2 != 0) {
        invalid_argument(caller, "the head size dim / n_heads = " + std::to_string(d_head) +
                                     " is odd; RoPE rotates pairs of numbers");
    }
}

LlamaWeights llama_random(const LlamaConfig& c, Rng& rng) {
    check_config(c, "attn::llama_random");
    const std::size_t d = c.dim, d_kv = c.n_kv_heads * (c.dim / c.n_heads);
    // Each matrix drawn as the book's W [in, out], then stored [out, in].
    const auto weight = [&](std::size_t in, std::size_t out) {
        return LinearWeight::from_in_out(random_normal(in, out, rng, 0.02f));
    };
    LlamaWeights w;
    w.token_embedding = LinearWeight::from_out_in(random_normal(c.vocab_size, d, rng, 0.02f));
    for (std::size_t l = 0; l < c.n_layers; ++l) {
        LlamaLayer layer;
        layer.attention_norm = xt::ones<float>({d});
        layer.w_q = weight(d, d);
        layer.w_k = weight(d, d_kv);
        layer.w_v = weight(d, d_kv);
        layer.w_o = weight(d, d);
        layer.ffn_norm = xt::ones<float>({d});
        layer.w_gate = weight(d, c.hidden_dim);
        layer.w_up = weight(d, c.hidden_dim);
        layer.w_down = weight(c.hidden_dim, d);
        w.layers.push_back(std::move(layer));
    }
    w.final_norm = xt::ones<float>({d});
    w.classifier = c.shared_classifier ? w.token_embedding : weight(d, c.vocab_size);
    return w;
}

LlamaLayer llama_layer(const Vector& attention_norm, const MultiHeadWeights& attention,
                       const Vector& ffn_norm, const SwiGLUWeights& ffn) {
    if (attention.b_q.size() || attention.b_k.size() || attention.b_v.size() ||
        attention.b_o.size()) {
        invalid_argument("attn::llama_layer", "a Llama block has no biases; 'attention' has some");
    }
    return {attention_norm,
            LinearWeight::from_in_out(attention.w_q),
            LinearWeight::from_in_out(attention.w_k),
            LinearWeight::from_in_out(attention.w_v),
            LinearWeight::from_in_out(attention.w_o),
            ffn_norm,
            LinearWeight::from_in_out(ffn.w_gate),
            LinearWeight::from_in_out(ffn.w_up),
            LinearWeight::from_in_out(ffn.w_down)};
}

void rope_rotate(float* x, std::size_t d, const float* cos, const float* sin) {
    for (std::size_t i = 0; i < d / 2; ++i) {
        const float a = x[2 * i], b = x[2 * i + 1];
        x[2 * i] = a * cos[i] - b * sin[i];
        x[2 * i + 1] = a * sin[i] + b * cos[i];
    }
}

namespace {

void check_rope(const char* fn, std::size_t d, float theta) {
    if (d % 2 != 0)
        invalid_argument(
            fn, "RoPE rotates pairs: the head size must be even, got " + std::to_string(d));
    if (!(theta > 1.0f))
        invalid_argument(fn, "theta must be above 1, got " + std::to_string(theta));
}

}  // namespace

RopeTables rope_tables(std::size_t first_position, std::size_t positions, std::size_t d,
                       float theta) {
    check_rope("attn::rope_tables", d, theta);
    RopeTables t{xt::zeros<float>({positions, d / 2}), xt::zeros<float>({positions, d / 2})};
    for (std::size_t p = 0; p < positions; ++p) {
        for (std::size_t i = 0; i < d / 2; ++i) {
            // In double, so that positions in the thousands keep their precision.
            const double angle = static_cast<double>(first_position + p) *
                                 std::pow(static_cast<double>(theta),
                                          -2.0 * static_cast<double>(i) / static_cast<double>(d));
            t.cos(p, i) = static_cast<float>(std::cos(angle));
            t.sin(p, i) = static_cast<float>(std::sin(angle));
        }
    }
    return t;
}

Matrix rope(const Matrix& x, std::size_t first_position, float theta) {
    constexpr const char* fn = "attn::rope";
    check_shape(fn, "x", x, {any("T"), any("d")});
    check_rope(fn, x.shape(1), theta);
    const RopeTables t = rope_tables(first_position, x.shape(0), x.shape(1), theta);
    Matrix out = x;
    for (std::size_t p = 0; p < out.shape(0); ++p)
        rope_rotate(&out(p, 0), out.shape(1), &t.cos(p, 0), &t.sin(p, 0));
    return out;
}

void rope_heads(Tensor3& heads, std::size_t first_position, float theta) {
    check_rope("attn::rope_heads", heads.shape(2), theta);
    const RopeTables t = rope_tables(first_position, heads.shape(1), heads.shape(2), theta);
    for (std::size_t h = 0; h < heads.shape(0); ++h)
        for (std::size_t p = 0; p < heads.shape(1); ++p)
            rope_rotate(&heads(h, p, 0), heads.shape(2), &t.cos(p, 0), &t.sin(p, 0));
}

namespace {

// The queries, keys and values of a block's attention, with the queries and keys rotated
// for positions first_position..
struct Projected {
    Tensor3 q, k, v;  // [n_heads, T, d_head], [n_kv_heads, T, d_head] twice
};

Projected project_rotated(const Matrix& z, const LlamaLayer& w, std::size_t first_position,
                          const LlamaConfig& c, const char* fn) {
    Projected p{split_heads(project(z, w.w_q, fn, "w_q"), c.n_heads, fn),
                split_heads(project(z, w.w_k, fn, "w_k"), c.n_kv_heads, fn),
                split_heads(project(z, w.w_v, fn, "w_v"), c.n_kv_heads, fn)};
    rope_heads(p.q, first_position, c.rope_theta);
    rope_heads(p.k, first_position, c.rope_theta);
    return p;
}

}  // namespace

Matrix llama_block(const Matrix& x, const LlamaLayer& w, std::size_t first_position,
                   const LlamaConfig& c, const KeyValueSource& source, const char* caller) {
    check_shape(caller, "x", x, {any("T"), exactly("dim", c.dim)});
    Projected p =
        project_rotated(rms_norm(x, w.attention_norm, c.norm_eps), w, first_position, c, caller);
    if (source) std::tie(p.k, p.v) = source(std::move(p.k), std::move(p.v));  // rotated keys
    const Mask allowed = causal_mask(x.shape(0), p.k.shape(1));
    const HeadsResult heads = attend_heads(p.q, p.k, p.v, allowed, caller);  // chapter 04
    Matrix h = x + project(merge_heads(heads.outputs), w.w_o, caller, "w_o");
    // SwiGLU (chapter 05) with the weights as stored.
    const Matrix z = rms_norm(h, w.ffn_norm, c.norm_eps);
    h += project(
        silu_gate(project(z, w.w_gate, caller, "w_gate"), project(z, w.w_up, caller, "w_up")),
        w.w_down, caller, "w_down");
    return h;
}

Llama::Llama(LlamaConfig config, LlamaWeights weights)
    : config_(config), weights_(std::move(weights)) {
    constexpr const char* fn = "attn::Llama";
    check_config(config_, fn);
    const std::size_t d = config_.dim;
    const std::size_t f = config_.hidden_dim;
    const std::size_t d_head = d / config_.n_heads, d_kv = config_.n_kv_heads * d_head;
    check_shape(fn, "token_embedding", weights_.token_embedding,
                {exactly("vocab_size", config_.vocab_size), exactly("dim", d)});
    check_shape(fn, "final_norm", weights_.final_norm, {exactly("dim", d)});
    check_shape(fn, "classifier", weights_.classifier,
                {exactly("vocab_size", config_.vocab_size), exactly("dim", d)});
    if (weights_.layers.size() != config_.n_layers) {
        invalid_argument(fn, "the weights hold " + std::to_string(weights_.layers.size()) +
                                 " layers, the configuration asks for n_layers = " +
                                 std::to_string(config_.n_layers));
    }
    // Every matrix [out, in], as stored.
    for (std::size_t i = 0; i < weights_.layers.size(); ++i) {
        const LlamaLayer& l = weights_.layers[i];
        const std::string layer = "layers[" + std::to_string(i) + "].";
        check_shape(fn, layer + "attention_norm", l.attention_norm, {exactly("dim", d)});
        check_shape(fn, layer + "w_q", l.w_q, {exactly("dim", d), exactly("dim", d)});
        check_shape(fn, layer + "w_k", l.w_k,
                    {exactly("n_kv_heads * d_head", d_kv), exactly("dim", d)});
        check_shape(fn, layer + "w_v", l.w_v,
                    {exactly("n_kv_heads * d_head", d_kv), exactly("dim", d)});
        check_shape(fn, layer + "w_o", l.w_o, {exactly("dim", d), exactly("dim", d)});
        check_shape(fn, layer + "ffn_norm", l.ffn_norm, {exactly("dim", d)});
        check_shape(fn, layer + "w_gate", l.w_gate, {exactly("hidden_dim", f), exactly("dim", d)});
        check_shape(fn, layer + "w_up", l.w_up, {exactly("hidden_dim", f), exactly("dim", d)});
        check_shape(fn, layer + "w_down", l.w_down, {exactly("dim", d), exactly("hidden_dim", f)});
    }
}

Matrix Llama::embed(const std::vector<std::size_t>& tokens, const char* caller) const {
    check_tokens(tokens, config_.vocab_size, caller);
    Matrix x = xt::zeros<float>({tokens.size(), config_.dim});
    const std::size_t d = config_.dim;
    for (std::size_t t = 0; t < tokens.size(); ++t)
        std::copy_n(weights_.token_embedding.data() + tokens[t] * d, d, &x(t, 0));
    return x;
}

Matrix Llama::output_logits(const Matrix& h) const {
    constexpr const char* fn = "attn::Llama::output_logits";
    check_shape(fn, "h", h, {any("T"), exactly("dim", config_.dim)});
    return project(rms_norm(h, weights_.final_norm, config_.norm_eps), weights_.classifier, fn,
                   "classifier");
}

Matrix Llama::logits(const std::vector<std::size_t>& tokens) const {
    constexpr const char* fn = "attn::Llama::logits";
    if (tokens.size() > config_.seq_len) {
        invalid_argument(fn, std::to_string(tokens.size()) + " tokens do not fit in seq_len " +
                                 std::to_string(config_.seq_len));
    }
    Matrix x = embed(tokens, fn);
    for (const LlamaLayer& layer : weights_.layers) x = llama_block(x, layer, 0, config_);
    return output_logits(x);
}

CachedLlama::CachedLlama(const Llama& model)
    : model_(model),
      cache_(model.config().n_layers, model.config().n_kv_heads,
             model.config().dim / model.config().n_heads, model.config().seq_len),
      rope_(rope_tables(0, model.config().seq_len, model.config().dim / model.config().n_heads,
                        model.config().rope_theta)) {}

Matrix CachedLlama::prefill(const std::vector<std::size_t>& prompt) {
    constexpr const char* fn = "attn::CachedLlama::prefill";
    check_tokens(prompt, model_.config().vocab_size, fn);  // before the cache is cleared
    if (prompt.size() > cache_.capacity()) {
        invalid_argument(fn,
                         "the prompt has " + std::to_string(prompt.size()) +
                             " tokens, more than seq_len = " + std::to_string(cache_.capacity()));
    }
    cache_.clear();
    return forward(prompt);
}

Matrix CachedLlama::forward(const std::vector<std::size_t>& tokens) {
    constexpr const char* fn = "attn::CachedLlama::forward";
    const std::size_t start = cache_.length();
    if (start + tokens.size() > cache_.capacity()) {
        invalid_argument(fn, std::to_string(tokens.size()) +
                                 " more tokens do not fit: the cache "
                                 "holds " +
                                 std::to_string(start) + " of seq_len = " +
                                 std::to_string(cache_.capacity()) + " positions");
    }
    Matrix x = model_.embed(tokens, fn);
    for (std::size_t l = 0; l < model_.config().n_layers; ++l) {
        // Chapter 06's way: the block's attention stores the rotated keys and the values in
        // the cache and attends over every position it holds.
        const KeyValueSource cached = [&](Tensor3 keys, Tensor3 values) {
            cache_.append(l, keys, values);
            return std::pair{cache_.keys(l), cache_.values(l)};
        };
        x = llama_block(x, model_.weights().layers[l], start, model_.config(), cached, fn);
    }
    return model_.output_logits(x);
}

Vector CachedLlama::decode(std::size_t token) {
    constexpr const char* fn = "attn::CachedLlama::decode";
    if (cache_.length() == 0)
        invalid_argument(fn, "nothing to continue: run prefill() with the prompt first");
    if (cache_.length() == cache_.capacity()) {
        invalid_argument(fn, "the context is full: the cache holds all " +
                                 std::to_string(cache_.capacity()) + " positions (seq_len)");
    }
    // forward() with one token, written with plain arrays: every weight matrix, read as
    // stored, meets a single row; the step is bound by reading the weights (decode_kernels.hpp). Chapter
    // 08's program measures what this second path gains over forward({token}).
    const LlamaConfig& c = model_.config();
    const LlamaWeights& w = model_.weights();
    const std::size_t pos = cache_.length(), d = c.dim, d_head = d / c.n_heads;
    const std::size_t d_kv = c.n_kv_heads * d_head, f = c.hidden_dim;
    Vector x = xt::row(model_.embed({token}, fn), 0);
    std::vector<float> z(d), q(d), attended(d), out(d), gate(f), up(f), scores(pos + 1);
    Tensor3 k = Tensor3::from_shape({c.n_kv_heads, 1, d_head});
    Tensor3 v = Tensor3::from_shape({c.n_kv_heads, 1, d_head});
    const auto norm = [&](const Vector& gain) {  // RMSNorm of x into z
        double mean_square = 0.0;                // in double, as rms_norm() (chapter 05)
        for (std::size_t i = 0; i < d; ++i) mean_square += static_cast<double>(x(i)) * x(i);
        const double scale = 1.0 / std::sqrt(mean_square / static_cast<double>(d) + c.norm_eps);
        for (std::size_t i = 0; i < d; ++i) z[i] = static_cast<float>(x(i) * scale) * gain(i);
    };
    for (std::size_t l = 0; l < c.n_layers; ++l) {
        const LlamaLayer& layer = w.layers[l];
        norm(layer.attention_norm);
        // One token's heads are contiguous blocks of its row: [n_heads, 1, d_head] in memory.
        project_row(z.data(), layer.w_q, q.data());
        project_row(z.data(), layer.w_k, k.data());
        project_row(z.data(), layer.w_v, v.data());
        for (std::size_t h = 0; h < c.n_heads; ++h)
            rope_rotate(&q[h * d_head], d_head, &rope_.cos(pos, 0), &rope_.sin(pos, 0));
        for (std::size_t h = 0; h < c.n_kv_heads; ++h)
            rope_rotate(&k(h, 0, 0), d_head, &rope_.cos(pos, 0), &rope_.sin(pos, 0));
        cache_.append(l, k, v);
        for (std::size_t h = 0; h < c.n_heads; ++h) {
            const std::size_t kv = kv_head_for(h, c.n_heads, c.n_kv_heads);
            attend_one(&q[h * d_head], cache_.key_rows(l, kv), cache_.value_rows(l, kv), pos + 1,
                       d_head, &attended[h * d_head], scores.data());
        }
        project_row(attended.data(), layer.w_o, out.data());
        for (std::size_t i = 0; i < d; ++i) x(i) += out[i];
        norm(layer.ffn_norm);
        project_row(z.data(), layer.w_gate, gate.data());
        project_row(z.data(), layer.w_up, up.data());
        for (std::size_t i = 0; i < f; ++i) gate[i] = gate[i] / (1.0f + std::exp(-gate[i])) * up[i];
        project_row(gate.data(), layer.w_down, out.data());
        for (std::size_t i = 0; i < d; ++i) x(i) += out[i];
    }
    norm(w.final_norm);
    Vector logits = Vector::from_shape({c.vocab_size});
    project_row(z.data(), w.classifier, logits.data());
    return logits;
}

namespace {

// sample_top_p()'s settings checked, naming `fn`; a temperature of 0 (greedy) passes when
// `greedy` is allowed.
void check_sampling(const char* fn, const Sampling& s, bool greedy) {
    if (!(s.temperature > 0.0f) && !(greedy && s.temperature == 0.0f)) {
        invalid_argument(fn, "temperature = " + std::to_string(s.temperature) +
                                 (greedy ? " must be 0 (greedy) or above" : " must be above 0"));
    }
    if (!(s.top_p >= 0.0f && s.top_p <= 1.0f))
        invalid_argument(fn, "top_p = " + std::to_string(s.top_p) + " must be in [0, 1]");
}

}  // namespace

std::size_t sample_top_p(const Vector& logits, const Sampling& s, float coin) {
    constexpr const char* fn = "attn::sample_top_p";
    check_shape(fn, "logits", logits, {any("vocab_size")});
    check_sampling(fn, s, false);
    const Vector p = softmax(logits / s.temperature);
    std::vector<std::size_t> order(p.size());
    std::iota(order.begin(), order.end(), 0);
    std::size_t kept = p.size();
    if (s.top_p > 0.0f && s.top_p < 1.0f) {
        // Most likely first; keep tokens until their probabilities add up to more than top_p.
        std::stable_sort(order.begin(), order.end(),
                         [&](std::size_t a, std::size_t b) { return p(a) > p(b); });
        double sum = 0.0;
        for (kept = 0; kept < order.size();) {
            sum += p(order[kept++]);
            if (sum > s.top_p) break;
        }
    }
    double total = 0.0;
    for (std::size_t i = 0; i < kept; ++i) total += p(order[i]);
    double r = static_cast<double>(coin) * total;  // a point in the kept mass
    for (std::size_t i = 0; i < kept; ++i) {
        r -= p(order[i]);
        if (r < 0.0) return order[i];
    }
    return order[kept - 1];  // the rounding left over at the end
}

std::size_t pick_token(const Vector& logits, const Sampling& s, Rng& rng) {
    constexpr const char* fn = "attn::pick_token";
    check_shape(fn, "logits", logits, {any("vocab_size")});
    check_sampling(fn, s, true);
    return s.temperature == 0.0f ? greedy_token(logits) : sample_top_p(logits, s, rng.uniform());
}

std::vector<std::size_t> llama_generate(const Llama& model, std::vector<std::size_t> prompt,
                                        std::size_t steps, const Sampling& s, Rng& rng,
                                        const std::function<bool(std::size_t)>& on_token) {
    constexpr const char* fn = "attn::llama_generate";
    check_tokens(prompt, model.config().vocab_size, fn);
    check_sampling(fn, s, true);
    if (steps == 0) return prompt;
    if (prompt.size() >= model.config().seq_len) {
        invalid_argument(
            fn, "the prompt has " + std::to_string(prompt.size()) + " tokens: with seq_len = " +
                    std::to_string(model.config().seq_len) + " no room is left to generate");
    }
    CachedLlama cached(model);
    const Matrix first = cached.prefill(prompt);
    std::size_t next = pick_token(xt::row(first, first.shape(0) - 1), s, rng);
    for (std::size_t step = 0;; ++step) {
        prompt.push_back(next);
        if (on_token && !on_token(next)) break;
        if (step + 1 == steps || prompt.size() == model.config().seq_len) break;
        next = pick_token(cached.decode(next), s, rng);
    }
    return prompt;
}

std::size_t weight_bytes_per_token(const LlamaConfig& c) {
    const std::size_t d = c.dim, d_kv = c.n_kv_heads * (c.dim / c.n_heads);
    const std::size_t layer = 2 * d + d * d * 2 + 2 * d * d_kv + 3 * d * c.hidden_dim;
    return sizeof(float) * (c.n_layers * layer + d + d * c.vocab_size + d);
}

std::size_t llama_parameters(const LlamaConfig& c) {
    const std::size_t d = c.dim, d_kv = c.n_kv_heads * (c.dim / c.n_heads);
    const std::size_t layer = 2 * d + d * d * 2 + 2 * d * d_kv + 3 * d * c.hidden_dim;
    return c.vocab_size * d + c.n_layers * layer + d + (c.shared_classifier ? 0 : d * c.vocab_size);
}

}  // namespace attn
