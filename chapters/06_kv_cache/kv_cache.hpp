/// \file
/// \brief Chapter 06: the KV cache. Generation keeps every layer's keys and values of the
/// tokens so far, so that each new token computes only its own; the same cache for
/// grouped-query attention, and a ring buffer for sliding-window attention.
#pragma once

#include "chapters/05_transformer_block/gpt.hpp"
#include "common/random.hpp"
#include "common/tensor.hpp"

#include <algorithm>
#include <cstddef>
#include <vector>

namespace attn {

/// The keys and values of every layer and key/value head for positions 0..length-1,
/// allocated once for `capacity` positions.
class KVCache {
public:
    /// Allocates `[n_kv_heads, capacity, d_head]` keys and values per layer; every size
    /// at least 1.
    KVCache(std::size_t n_layers, std::size_t n_kv_heads, std::size_t d_head, std::size_t capacity);

    /// Appends the keys and values of new positions to one layer.
    /// \param layer 0..n_layers-1
    /// \param keys `[n_kv_heads, n_new, d_head]`
    /// \param values `[n_kv_heads, n_new, d_head]`
    /// Throws std::invalid_argument, naming the capacity, when they do not fit.
    void append(std::size_t layer, const Tensor3& keys, const Tensor3& values);

    /// The keys of one layer and key/value head, positions 0..stored(layer)-1: `[stored, d_head]`.
    /// Throws std::invalid_argument naming the layer or head, and how many there are, when
    /// it does not exist; so do the functions below that take them.
    Matrix keys(std::size_t layer, std::size_t kv_head) const;
    /// The values of one layer and key/value head: `[stored, d_head]`.
    Matrix values(std::size_t layer, std::size_t kv_head) const;
    /// The keys of every key/value head of one layer: `[n_kv_heads, stored, d_head]`.
    Tensor3 keys(std::size_t layer) const;
    /// The values of every key/value head of one layer: `[n_kv_heads, stored, d_head]`.
    Tensor3 values(std::size_t layer) const;

    /// The keys of one layer and key/value head in place, without a copy: `d_head` floats
    /// per position, position p at row p, valid for p below stored(layer). Chapter 08's
    /// decode step reads them this way.
    const float* key_rows(std::size_t layer, std::size_t kv_head) const;
    /// The values in place, laid out as key_rows().
    const float* value_rows(std::size_t layer, std::size_t kv_head) const;

    /// Positions stored in one layer.
    std::size_t stored(std::size_t layer) const;
    /// Positions stored in every layer: what the model has seen.
    std::size_t length() const;
    /// Positions it has room for.
    std::size_t capacity() const { return capacity_; }
    /// Key/value heads per layer.
    std::size_t n_kv_heads() const { return n_kv_heads_; }
    /// Numbers per head and position.
    std::size_t d_head() const { return d_head_; }
    /// Bytes it allocated for keys and values (float32).
    std::size_t bytes() const;
    /// Forgets every position (the memory stays allocated).
    void clear();

private:
    // Throw std::invalid_argument naming `fn` and the counts for a layer or head that does
    // not exist (an index past the end would read memory the cache does not own).
    void check_layer(const char* fn, std::size_t layer) const;
    void check_head(const char* fn, std::size_t layer, std::size_t kv_head) const;
    std::size_t n_kv_heads_, d_head_, capacity_;
    std::vector<Tensor3> keys_, values_;  // per layer, [n_kv_heads, capacity, d_head]
    std::vector<std::size_t> stored_;     // per layer
};

/// What a KV cache holds: 2 (keys and values) × layers × key/value heads × d_head × tokens
/// × bytes per number × batch.
std::size_t kv_cache_bytes(std::size_t n_layers, std::size_t n_kv_heads, std::size_t d_head,
                           std::size_t tokens, std::size_t bytes_per_number, std::size_t batch = 1);

/// A GPT that generates with a KV cache: prefill() runs the prompt in one pass and fills
/// the cache, decode() runs one new token against everything cached.
class CachedGpt {
public:
    /// A cache for the model's whole context. The model must outlive this object.
    explicit CachedGpt(const Gpt& model);

    /// Clears the cache, runs the prompt and caches its keys and values.
    /// \return `[T, vocab_size]`, the same logits as Gpt::logits(prompt)
    Matrix prefill(const std::vector<std::size_t>& prompt);

    /// Runs one new token at position position(): its query attends to every cached key
    /// and its own. Throws std::invalid_argument before prefill() and when the context is
    /// full, naming the capacity.
    /// \return `[vocab_size]`, the logits of the token after it
    Vector decode(std::size_t token);

    /// The position the next token will have: how many tokens the cache holds.
    std::size_t position() const { return cache_.length(); }
    /// The cache itself.
    const KVCache& cache() const { return cache_; }

private:
    Matrix forward(const std::vector<std::size_t>& tokens, const char* caller);
    const Gpt& model_;
    KVCache cache_;
};

/// Generation with the cache: the same tokens as chapter 05's attn::generate() (same
/// rng draws), without recomputing the prefix. Temperature 0 is greedy.
std::vector<std::size_t> generate_cached(const Gpt& model, std::vector<std::size_t> prompt,
                                         std::size_t count, float temperature, Rng& rng);

/// A ring buffer for sliding-window attention: room for `window` positions, position p in
/// slot p mod window; once full, each new position overwrites the oldest.
class RingKVCache {
public:
    /// \param n_kv_heads key/value heads \param d_head their width \param window positions kept
    RingKVCache(std::size_t n_kv_heads, std::size_t d_head, std::size_t window);

    /// The slot of position p: p mod window.
    std::size_t slot(std::size_t position) const { return position % window_; }
    /// Stores the keys and values `[n_kv_heads, d_head]` of the next position.
    void append(const Matrix& keys, const Matrix& values);
    /// The keys of one key/value head that are kept, in slot order: `[min(count, window), d_head]`.
    /// Throws std::invalid_argument naming the head, and how many there are, when it does not
    /// exist; so does values().
    Matrix keys(std::size_t kv_head) const;
    /// The values of one key/value head, in slot order.
    Matrix values(std::size_t kv_head) const;
    /// The kept keys of every key/value head: `[n_kv_heads, min(count, window), d_head]`.
    Tensor3 keys() const;
    /// The kept values of every key/value head.
    Tensor3 values() const;
    /// Positions appended so far (more than window once it wraps).
    std::size_t count() const { return count_; }
    /// Key/value heads.
    std::size_t n_kv_heads() const { return keys_.shape(0); }
    /// Numbers per head and position.
    std::size_t d_head() const { return keys_.shape(2); }
    /// Positions it keeps: min(count(), window).
    std::size_t kept() const { return std::min(count_, window_); }
    /// The keys of one key/value head in place, slot after slot: `d_head` floats per slot,
    /// kept() slots valid (chapter 08's sliding-window Llama reads them this way). The head
    /// must exist (unchecked).
    const float* key_rows(std::size_t kv_head) const { return &keys_(kv_head, 0, 0); }
    /// The values in place, laid out as key_rows().
    const float* value_rows(std::size_t kv_head) const { return &values_(kv_head, 0, 0); }
    /// Bytes allocated for keys and values: fixed, whatever count() is.
    std::size_t bytes() const;

private:
    void check_head(const char* fn, std::size_t kv_head) const;  // as KVCache's
    std::size_t window_, count_ = 0;
    Tensor3 keys_, values_;  // [n_kv_heads, window, d_head]
};

/// One attention layer with a sliding window, decoded one token at a time through a
/// RingKVCache: row t of the result is token t's output. Equals
/// multi_head_attention(x, w, sliding_window_mask(T, window)).output.
/// \param x `[T, d_model]`
/// \param w the layer
/// \param window how many positions a query sees, itself included: at least 1
/// \param peak_bytes if not null, receives the ring buffer's allocation
Matrix sliding_window_decode(const Matrix& x, const MultiHeadWeights& w, std::size_t window,
                             std::size_t* peak_bytes = nullptr);

}  // namespace attn
