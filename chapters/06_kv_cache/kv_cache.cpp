#include "chapters/06_kv_cache/kv_cache.hpp"

#include "chapters/01_single_head_attention/single_head_attention.hpp"
#include "chapters/03_causal_masking/causal_masking.hpp"
#include "common/shape.hpp"

#include <xtensor-blas/xlinalg.hpp>
#include <xtensor/xbuilder.hpp>
#include <xtensor/xview.hpp>

#include <string>

namespace attn {

KVCache::KVCache(std::size_t n_layers, std::size_t n_kv_heads, std::size_t d_head,
                 std::size_t capacity)
    : n_kv_heads_(n_kv_heads), d_head_(d_head), capacity_(capacity), stored_(n_layers, 0) {
    if (n_layers == 0 || n_kv_heads == 0 || d_head == 0 || capacity == 0) {
        invalid_argument("attn::KVCache",
                         "n_layers, n_kv_heads, d_head and capacity must be at least 1, got " +
                             std::to_string(n_layers) + ", " + std::to_string(n_kv_heads) + ", " +
                             std::to_string(d_head) + ", " + std::to_string(capacity));
    }
    for (std::size_t l = 0; l < n_layers; ++l) {  // allocated once, for the whole context
        keys_.push_back(xt::zeros<float>({n_kv_heads, capacity, d_head}));
        values_.push_back(xt::zeros<float>({n_kv_heads, capacity, d_head}));
    }
}

void KVCache::check_layer(const char* fn, std::size_t layer) const {
    check_index(fn, "layer", layer, stored_.size(), "layers of the cache");
}

void KVCache::check_head(const char* fn, std::size_t layer, std::size_t kv_head) const {
    check_layer(fn, layer);
    check_index(fn, "kv_head", kv_head, n_kv_heads_, "key/value heads of the cache");
}

void KVCache::append(std::size_t layer, const Tensor3& keys, const Tensor3& values) {
    constexpr const char* fn = "attn::KVCache::append";
    check_layer(fn, layer);
    check_shape(fn, "keys", keys,
                {exactly("n_kv_heads", n_kv_heads_), any("n_new"), exactly("d_head", d_head_)});
    check_shape(fn, "values", values,
                {exactly("n_kv_heads", n_kv_heads_), exactly("n_new", keys.shape(1)),
                 exactly("d_head", d_head_)});
    const std::size_t start = stored_[layer], n_new = keys.shape(1);
    if (start + n_new > capacity_) {
        invalid_argument(fn, "the cache is full: it holds " + std::to_string(start) +
                                 " of its capacity of " + std::to_string(capacity_) +
                                 " positions, " + std::to_string(n_new) + " more do not fit");
    }
    xt::view(keys_[layer], xt::all(), xt::range(start, start + n_new), xt::all()) = keys;
    xt::view(values_[layer], xt::all(), xt::range(start, start + n_new), xt::all()) = values;
    stored_[layer] += n_new;
}

Matrix KVCache::keys(std::size_t layer, std::size_t kv_head) const {
    check_head("attn::KVCache::keys", layer, kv_head);
    return xt::view(keys_[layer], kv_head, xt::range(0, stored_[layer]), xt::all());
}

Matrix KVCache::values(std::size_t layer, std::size_t kv_head) const {
    check_head("attn::KVCache::values", layer, kv_head);
    return xt::view(values_[layer], kv_head, xt::range(0, stored_[layer]), xt::all());
}

Tensor3 KVCache::keys(std::size_t layer) const {
    check_layer("attn::KVCache::keys", layer);
    return xt::view(keys_[layer], xt::all(), xt::range(0, stored_[layer]), xt::all());
}

Tensor3 KVCache::values(std::size_t layer) const {
    check_layer("attn::KVCache::values", layer);
    return xt::view(values_[layer], xt::all(), xt::range(0, stored_[layer]), xt::all());
}

const float* KVCache::key_rows(std::size_t layer, std::size_t kv_head) const {
    check_head("attn::KVCache::key_rows", layer, kv_head);
    return &keys_[layer](kv_head, 0, 0);
}

const float* KVCache::value_rows(std::size_t layer, std::size_t kv_head) const {
    check_head("attn::KVCache::value_rows", layer, kv_head);
    return &values_[layer](kv_head, 0, 0);
}

std::size_t KVCache::stored(std::size_t layer) const {
    check_layer("attn::KVCache::stored", layer);
    return stored_[layer];
}

std::size_t KVCache::length() const {
    return *std::min_element(stored_.begin(), stored_.end());
}

std::size_t KVCache::bytes() const {
    std::size_t total = 0;
    for (std::size_t l = 0; l < keys_.size(); ++l)
        total += (keys_[l].size() + values_[l].size()) * sizeof(float);
    return total;
}

void KVCache::clear() {
    std::fill(stored_.begin(), stored_.end(), 0);
}

std::size_t kv_cache_bytes(std::size_t n_layers, std::size_t n_kv_heads, std::size_t d_head,
                           std::size_t tokens, std::size_t bytes_per_number, std::size_t batch) {
    return 2 * n_layers * n_kv_heads * d_head * tokens * bytes_per_number * batch;
}

CachedGpt::CachedGpt(const Gpt& model)
    : model_(model),
      cache_(model.config().n_layers, model.config().n_kv_heads,
             model.config().d_model / model.config().n_heads, model.config().context) {}

Matrix CachedGpt::prefill(const std::vector<std::size_t>& prompt) {
    cache_.clear();
    return forward(prompt, "attn::CachedGpt::prefill");
}

Vector CachedGpt::decode(std::size_t token) {
    constexpr const char* fn = "attn::CachedGpt::decode";
    if (cache_.length() == 0)
        invalid_argument(fn, "nothing to continue: run prefill() with the prompt first");
    if (cache_.length() == cache_.capacity()) {
        invalid_argument(fn, "the context is full: the cache holds all " +
                                 std::to_string(cache_.capacity()) + " positions it has room for");
    }
    return xt::row(forward({token}, fn), 0);
}

Matrix CachedGpt::forward(const std::vector<std::size_t>& tokens, const char* caller) {
    const std::size_t start = cache_.length(), n_new = tokens.size();
    Matrix x = model_.embed(tokens, start, caller);  // the new tokens sit at positions start..
    // Query i (position start + i) sees every cached key up to its own position. In decode
    // (one token, the last) that is every key.
    const Mask allowed = causal_mask(n_new, start + n_new);

    for (std::size_t l = 0; l < model_.config().n_layers; ++l) {
        // Chapter 05's block, whose attention stores the new keys and values in the cache
        // and attends over every position the cache holds. (The Gpt checked its weights.)
        const BlockWeights& w = model_.weights().blocks[l];
        const KeyValueSource cached = [&](Tensor3 keys, Tensor3 values) {
            cache_.append(l, keys, values);
            return std::pair{cache_.keys(l), cache_.values(l)};
        };
        x = transformer_block(x, w, [&](const Matrix& attention_input) {
            return multi_head_attention(attention_input, w.attention, allowed, caller, cached)
                .output;
        });
    }
    return model_.output_logits(x);
}

std::vector<std::size_t> generate_cached(const Gpt& model, std::vector<std::size_t> prompt,
                                         std::size_t count, float temperature, Rng& rng) {
    check_generation(model, prompt, count, "attn::generate_cached");
    CachedGpt cached(model);
    const auto pick = [&](const Vector& logits) {
        return temperature == 0.0f ? greedy_token(logits) : sample_token(logits, temperature, rng);
    };
    if (count == 0) return prompt;
    const Matrix logits = cached.prefill(prompt);
    prompt.push_back(pick(xt::row(logits, logits.shape(0) - 1)));
    for (std::size_t step = 1; step < count; ++step)
        prompt.push_back(pick(cached.decode(prompt.back())));
    return prompt;
}

RingKVCache::RingKVCache(std::size_t n_kv_heads, std::size_t d_head, std::size_t window)
    : window_(window) {
    if (n_kv_heads == 0 || d_head == 0 || window == 0) {
        invalid_argument("attn::RingKVCache",
                         "n_kv_heads, d_head and window must be at least 1, got " +
                             std::to_string(n_kv_heads) + ", " + std::to_string(d_head) + ", " +
                             std::to_string(window));
    }
    keys_ = xt::zeros<float>({n_kv_heads, window, d_head});
    values_ = xt::zeros<float>({n_kv_heads, window, d_head});
}

void RingKVCache::append(const Matrix& keys, const Matrix& values) {
    constexpr const char* fn = "attn::RingKVCache::append";
    check_shape(fn, "keys", keys,
                {exactly("n_kv_heads", keys_.shape(0)), exactly("d_head", keys_.shape(2))});
    check_shape(fn, "values", values,
                {exactly("n_kv_heads", keys_.shape(0)), exactly("d_head", keys_.shape(2))});
    const std::size_t s = slot(count_);  // overwrites position count_ - window, now out of view
    xt::view(keys_, xt::all(), s, xt::all()) = keys;
    xt::view(values_, xt::all(), s, xt::all()) = values;
    ++count_;
}

void RingKVCache::check_head(const char* fn, std::size_t kv_head) const {
    check_index(fn, "kv_head", kv_head, keys_.shape(0), "key/value heads of the cache");
}

Matrix RingKVCache::keys(std::size_t kv_head) const {
    check_head("attn::RingKVCache::keys", kv_head);
    return xt::view(keys_, kv_head, xt::range(0, std::min(count_, window_)), xt::all());
}

Matrix RingKVCache::values(std::size_t kv_head) const {
    check_head("attn::RingKVCache::values", kv_head);
    return xt::view(values_, kv_head, xt::range(0, std::min(count_, window_)), xt::all());
}

Tensor3 RingKVCache::keys() const {
    return xt::view(keys_, xt::all(), xt::range(0, std::min(count_, window_)), xt::all());
}

Tensor3 RingKVCache::values() const {
    return xt::view(values_, xt::all(), xt::range(0, std::min(count_, window_)), xt::all());
}

std::size_t RingKVCache::bytes() const {
    return (keys_.size() + values_.size()) * sizeof(float);
}

Matrix sliding_window_decode(const Matrix& x, const MultiHeadWeights& w, std::size_t window,
                             std::size_t* peak_bytes) {
    constexpr const char* fn = "attn::sliding_window_decode";
    check_shape(fn, "x", x, {any("T"), any("d_model")});
    if (window == 0)
        invalid_argument(fn, "argument 'window' must be at least 1 (a token sees itself), got 0");
    const std::size_t d_head = head_size(x.shape(1), w.n_heads, fn);
    check_kv_heads(fn, w.n_heads, w.n_kv_heads);
    RingKVCache ring(w.n_kv_heads, d_head, window);
    Matrix out = xt::zeros<float>(x.shape());
    // Chapter 04's attention, its keys and values kept in the ring: the ring stores the new
    // token's and hands back the last `window`. They are in slot order, not position
    // order: attention does not care (chapter 02: it treats its keys as a set; positions
    // live in the vectors themselves).
    const KeyValueSource kept = [&](Tensor3 keys, Tensor3 values) {
        ring.append(xt::view(keys, xt::all(), 0, xt::all()),
                    xt::view(values, xt::all(), 0, xt::all()));
        return std::pair{ring.keys(), ring.values()};
    };
    for (std::size_t t = 0; t < x.shape(0); ++t) {
        const Matrix token = xt::view(x, xt::range(t, t + 1), xt::all());  // [1, d_model]
        const Mask all_kept = xt::ones<bool>({std::size_t{1}, std::min(t + 1, window)});
        xt::view(out, t, xt::all()) =
            xt::view(multi_head_attention(token, w, all_kept, fn, kept).output, 0, xt::all());
    }
    if (peak_bytes) *peak_bytes = ring.bytes();
    return out;
}

}  // namespace attn
