#include "chapters/08_real_model/llama.hpp"

#include "chapters/03_causal_masking/causal_masking.hpp"
#include "chapters/08_real_model/decode_kernels.hpp"
#include "common/shape.hpp"

#include <xtensor/xbuilder.hpp>
#include <xtensor/xmanipulation.hpp>
#include <xtensor/xview.hpp>

#include <algorithm>
#include <cmath>
#include <numeric>
#include <string>

namespace attn {

LlamaConfig stories15m_config() {
    return LlamaConfig{.dim = 288,
                       .hidden_dim = 768,
                       .n_layers = 6,
                       .n_heads = 6,
                       .n_kv_heads = 6,
                       .vocab_size = 32000,
                       .seq_len = 256};
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
    if (!(c.rope_theta > 1.0f))
        invalid_argument(caller,
                         "rope_theta = " + std::to_string(c.rope_theta) + " must be above 1");
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

// Every weight of one block against the configuration, `prefix` before its name in an error.
void check_layer(const char* fn, const LlamaLayer& l, const LlamaConfig& c,
                 const std::string& prefix) {
    const std::size_t d = c.dim, f = c.hidden_dim, d_kv = c.n_kv_heads * (c.dim / c.n_heads);
    check_shape(fn, prefix + "attention_norm", l.attention_norm, {exactly("dim", d)});
    check_shape(fn, prefix + "w_q", l.w_q, {exactly("dim", d), exactly("dim", d)});
    check_shape(fn, prefix + "w_k", l.w_k,
                {exactly("n_kv_heads * d_head", d_kv), exactly("dim", d)});
    check_shape(fn, prefix + "w_v", l.w_v,
                {exactly("n_kv_heads * d_head", d_kv), exactly("dim", d)});
    check_shape(fn, prefix + "w_o", l.w_o, {exactly("dim", d), exactly("dim", d)});
    check_shape(fn, prefix + "ffn_norm", l.ffn_norm, {exactly("dim", d)});
    const std::size_t hidden = f ? f : l.w_gate.out();  // a configuration of one block may omit it
    check_shape(fn, prefix + "w_gate", l.w_gate,
                {exactly("hidden_dim", hidden), exactly("dim", d)});
    check_shape(fn, prefix + "w_up", l.w_up, {exactly("hidden_dim", hidden), exactly("dim", d)});
    check_shape(fn, prefix + "w_down", l.w_down,
                {exactly("dim", d), exactly("hidden_dim", hidden)});
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

void ContiguousKV::store(std::size_t layer, const Matrix& keys, const Matrix& values) {
    cache_.append(layer, split_heads(keys, cache_.n_kv_heads()),
                  split_heads(values, cache_.n_kv_heads()));
}

void ContiguousKV::attend(std::size_t layer, std::size_t row, std::size_t kv_head, const float* q,
                          float* out, float* scores) const {
    attend_one(q, cache_.key_rows(layer, kv_head), cache_.value_rows(layer, kv_head),
               start_ + row + 1, cache_.d_head(), out, scores);
}

WindowKV::WindowKV(const LlamaConfig& c, std::size_t window) {
    constexpr const char* fn = "attn::WindowKV";
    check_config(c, fn);
    check_positive(fn, "window", window, "a window holds at least one position");
    rings_.assign(c.n_layers, RingKVCache(c.n_kv_heads, c.dim / c.n_heads, window));
}

void WindowKV::store(std::size_t layer, const Matrix& keys, const Matrix& values) {
    if (keys.shape(0) != 1) {
        invalid_argument("attn::WindowKV::store",
                         "a sliding window runs one row a step (a prompt token by token), got " +
                             std::to_string(keys.shape(0)) +
                             " rows: the earlier ones would see the later ones' keys");
    }
    RingKVCache& ring = rings_[layer];
    // One row [1, n_kv_heads * d_head] is the ring's [n_kv_heads, d_head], row-major.
    const std::vector<std::size_t> heads{ring.n_kv_heads(), ring.d_head()};
    ring.append(xt::reshape_view(keys, heads), xt::reshape_view(values, heads));
}

void WindowKV::attend(std::size_t layer, std::size_t, std::size_t kv_head, const float* q,
                      float* out, float* scores) const {
    const RingKVCache& ring = rings_[layer];
    attend_one(q, ring.key_rows(kv_head), ring.value_rows(kv_head), ring.kept(), ring.d_head(), out,
               scores);
}

void llama_block(Matrix& x, const LlamaLayer& w, std::size_t layer,
                 const std::vector<std::size_t>& positions, const LlamaConfig& c,
                 const RopeTables& rope, LlamaKV& kv, const Projector& product,
                 const Reduce& reduce, LlamaBlockActivations* keep) {
    const auto times = [&](const Matrix& in, const LinearWeight& weight) {
        return product ? product(in, weight) : project(in, weight);
    };
    // Each sub-layer's output joins the residual stream, first summed over the processes that
    // hold parts of it (chapter 11). Added as a temporary: xtensor then adds in place, where
    // for a named matrix it would guard against aliasing with a copy.
    const auto add = [&](Matrix&& partial) {
        if (reduce) reduce(partial);
        x += std::move(partial);
    };
    const std::size_t rows = x.shape(0), d_head = w.w_q.out() / c.n_heads;
    const std::size_t longest = *std::max_element(positions.begin(), positions.end()) + 1;
    if (keep) {
        keep->input = x;
        keep->attention_weights = xt::zeros<float>({rows, c.n_heads, longest});
    }
    // Attention: queries, keys and values of every row, the queries and keys rotated by
    // their row's position; the keys and values stored before anything attends.
    Matrix z = rms_norm(x, w.attention_norm, c.norm_eps);
    Matrix q = times(z, w.w_q), k = times(z, w.w_k), v = times(z, w.w_v);
    for (std::size_t r = 0; r < rows; ++r) {
        const float* cos = &rope.cos(positions[r], 0);
        const float* sin = &rope.sin(positions[r], 0);
        for (std::size_t h = 0; h < c.n_heads; ++h)
            rope_rotate(&q(r, h * d_head), d_head, cos, sin);
        for (std::size_t h = 0; h < c.n_kv_heads; ++h)
            rope_rotate(&k(r, h * d_head), d_head, cos, sin);
    }
    kv.store(layer, k, v);
    // Each row's query heads, side by side as merge_heads() would put them, attend over
    // their sequence up to the row's own position.
    Matrix attended = xt::zeros<float>({rows, c.n_heads * d_head});
    std::vector<float> scores(longest);
    std::vector<std::size_t> kv_head(c.n_heads);  // grouped-query: each query head's, once
    for (std::size_t h = 0; h < c.n_heads; ++h)
        kv_head[h] = kv_head_for(h, c.n_heads, c.n_kv_heads);
    for (std::size_t r = 0; r < rows; ++r)
        for (std::size_t h = 0; h < c.n_heads; ++h) {
            kv.attend(layer, r, kv_head[h], &q(r, h * d_head), &attended(r, h * d_head),
                      scores.data());
            if (keep)
                std::copy_n(scores.data(), positions[r] + 1, &keep->attention_weights(r, h, 0));
        }
    add(times(attended, w.w_o));
    if (keep) keep->residual = x;
    // SwiGLU (chapter 05), its weights as stored.
    Matrix z2 = rms_norm(x, w.ffn_norm, c.norm_eps);
    Matrix gate = times(z2, w.w_gate), up = times(z2, w.w_up);
    Matrix gated = silu_gate(gate, up);
    add(times(gated, w.w_down));
    if (!keep) return;
    keep->attention_input = std::move(z);
    keep->queries = std::move(q);
    keep->keys = std::move(k);
    keep->values = std::move(v);
    keep->attended = std::move(attended);
    keep->ffn_input = std::move(z2);
    keep->gate = std::move(gate);
    keep->up = std::move(up);
    keep->gated = std::move(gated);
}

Matrix llama_block(const Matrix& x, const LlamaLayer& w, std::size_t first_position,
                   const LlamaConfig& c) {
    constexpr const char* fn = "attn::llama_block";
    check_shape(fn, "x", x, {any("T"), exactly("dim", c.dim)});
    const std::size_t T = x.shape(0), d_head = head_size(c.dim, c.n_heads, fn);
    check_kv_heads(fn, c.n_heads, c.n_kv_heads);
    check_rope(fn, d_head, c.rope_theta);
    check_layer(fn, w, c, "");
    if (T == 0) return x;
    std::vector<std::size_t> positions(T);
    std::iota(positions.begin(), positions.end(), first_position);
    KVCache cache(1, c.n_kv_heads, d_head, T);
    ContiguousKV kv(cache);
    Matrix y = x;
    llama_block(y, w, 0, positions, c, rope_tables(0, first_position + T, d_head, c.rope_theta),
                kv);
    return y;
}

Llama::Llama(LlamaConfig config, LlamaWeights weights)
    : config_(config), weights_(std::move(weights)) {
    constexpr const char* fn = "attn::Llama";
    check_config(config_, fn);
    const std::size_t d = config_.dim;
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
    for (std::size_t i = 0; i < weights_.layers.size(); ++i)
        check_layer(fn, weights_.layers[i], config_, "layers[" + std::to_string(i) + "].");
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
    check_fits(fn, "tokens", tokens.size(), "seq_len", config_.seq_len);
    check_tokens(tokens, config_.vocab_size, fn);
    return CachedLlama(*this).prefill(tokens);
}

CachedLlama::CachedLlama(const Llama& model)
    : model_(model),
      cache_(model.config().n_layers, model.config().n_kv_heads,
             model.config().dim / model.config().n_heads, model.config().seq_len),
      rope_(rope_tables(0, model.config().seq_len, model.config().dim / model.config().n_heads,
                        model.config().rope_theta)) {}

Matrix CachedLlama::prefill(const std::vector<std::size_t>& prompt) {
    constexpr const char* fn = "attn::CachedLlama::prefill";
    check_tokens(prompt, model_.config().vocab_size, fn, "prompt");  // before the cache is cleared
    check_fits(fn, "tokens", prompt.size(), "seq_len", cache_.capacity());
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
    Matrix x = model_.embed(tokens, fn);  // refuses no token or an id outside the vocabulary
    std::vector<std::size_t> positions(tokens.size());
    std::iota(positions.begin(), positions.end(), start);
    // Chapter 06's way: each block stores its rows' keys and values in the cache and attends
    // over every position it holds.
    ContiguousKV kv(cache_);
    for (std::size_t l = 0; l < model_.config().n_layers; ++l)
        llama_block(x, model_.weights().layers[l], l, positions, model_.config(), rope_, kv);
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
    check_tokens({token}, model_.config().vocab_size, fn);
    // forward() with one row: every product of the block is then the decode kernel's
    // (project_row()), bound by reading the weights.
    return xt::row(forward({token}), 0);
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
    check_tokens(prompt, model.config().vocab_size, fn, "prompt");
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
