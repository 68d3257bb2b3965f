/// \file
/// \brief Chapter 06 exercises: the KV cache, written by you.
///
/// Each function below is one exercise; its comment is the task. Your answer goes in the
/// `.cpp` file named after the exercise in this folder. Check with `make check CH=06`.
///
/// The exercises work on the cache of one attention head, attn::ex06::HeadCache: the keys
/// and values of the positions so far, in preallocated rows. You may use chapters 01 to
/// 05, e.g. attn::softmax() (include `chapters/01_single_head_attention/single_head_attention.hpp`).
///
/// Every function first checks its arguments and throws std::invalid_argument whose message
/// names the function and shows what is wrong: a shape as `[0, 6]` (attn::check_shape()
/// writes the whole message) and a number as `name = value`, e.g. `n_heads = 0`.
#pragma once

#include "common/errors.hpp"
#include "common/shape.hpp"
#include "common/tensor.hpp"

#include <cstddef>

/// Chapter 06 exercises.
namespace attn::ex06 {

/// The cache of one head: rows 0..length-1 of `keys` and `values` hold positions
/// 0..length-1; the rest is room for later positions.
struct HeadCache {
    Matrix keys;             ///< `[capacity, d_head]`
    Matrix values;           ///< `[capacity, d_head]`
    std::size_t length = 0;  ///< positions stored
};

/// \brief Exercise 6.1: append a position.
///
/// Store one new position's key and value after the ones already cached: row `length` of
/// keys and of values, then one more position is stored.
///
/// \param cache the cache, changed in place
/// \param key `[d_head]`
/// \param value `[d_head]`
///
/// Throws std::invalid_argument naming append when the cache is full (say its capacity)
/// or key or value is not `[d_head]`.
///
/// Example: an empty cache of capacity 3 and d_head 2, append key `{1, 2}` and value
/// `{3, 4}`: row 0 of keys is `{1, 2}`, row 0 of values `{3, 4}`, length 1.
///
/// Hint: the new position goes in the first unused row, row `length`, of both keys and values, and
/// then the cache holds one position more. Not row 0 every time (that overwrites), and count the
/// position once. Check first: key and value must be `[d_head]`, and a full cache (length equal to
/// the capacity, the number of rows) is refused, saying its capacity.
///
/// Second hint: with n = length before the call: \f$K_{n,:} \leftarrow k\f$,
/// \f$V_{n,:} \leftarrow v\f$, then length becomes n + 1. `xt::row` of `cache.keys` can be assigned
/// to.
// answered in the library by: chapters/06_kv_cache/kv_cache.cpp KVCache::append
void append(HeadCache& cache, const Vector& key, const Vector& value);

/// \brief Exercise 6.2: one cached attention step.
///
/// The newest token's query attends to every cached position, its own included (append
/// it first): \f$\mathrm{softmax}(K q / \sqrt{d_{head}})\, V\f$ over rows 0..length-1.
/// No mask: every cached position is in the new token's past.
///
/// \param cache the cache, holding at least one position
/// \param query `[d_head]`
/// \return `[d_head]`
///
/// Throws std::invalid_argument naming attend_cached when the cache is empty (nothing
/// was prefilled) or query is not `[d_head]`.
///
/// Example: keys `{{1, 0}, {0, 1}}`, values `{{1, 2}, {3, 4}}` (length 2), query `{0, 2}`:
/// weights softmax(`{0, 1.414}`) = `{0.196, 0.804}`, output `{2.609, 3.609}`.
///
/// Hint: the cache's matrices have room for more positions than it holds: only rows 0..length-1 are
/// positions, the rest is unused memory, so attend over those rows only. Then it is chapter 01's
/// attention of one query: scores scaled by \f$1/\sqrt{d_{head}}\f$, softmax, weighted sum of the
/// values, with no mask (every cached position, the new token's own included, is in its past).
/// `xt::view` with `xt::range` selects the rows; attn::attend() does the rest.
///
/// Second hint: with n = length, K and V the first n rows of keys and values:
/// \f$w = \mathrm{softmax}(K q / \sqrt{d_{head}})\f$ over the n positions, and the output
/// \f$\sum_{t<n} w_t\, V_{t,:}\f$.
// answered in the library by: chapters/06_kv_cache/kv_cache.cpp KVCache::keys KVCache::values
// answered in the library by: chapters/08_real_model/decode_kernels.cpp attend_one
Vector attend_cached(const HeadCache& cache, const Vector& query);

/// \brief Exercise 6.3: the ring buffer's slot.
///
/// A sliding window of `window` positions needs only `window` slots: position p goes in
/// slot p mod window, overwriting the position that just left the window.
///
/// \param position the token's position, from 0
/// \param window the number of slots, at least 1
/// \return the slot, in 0..window-1
///
/// Throws std::invalid_argument naming ring_slot when window is 0.
///
/// Example: window 4: positions 0, 1, 2, 3, 4, 5 go to slots 0, 1, 2, 3, 0, 1.
///
/// Hint: the positions go round the slots like hours round a clock face: after the last slot the
/// next position starts again at slot 0. One remainder does it; position 0 is slot 0, and there are
/// window slots, not window - 1. Refuse a window of 0 first: a remainder by 0 is undefined.
///
/// Second hint: \f$\mathrm{slot} = p \bmod w\f$ with p the position and w the window.
// answered in the library by: chapters/06_kv_cache/kv_cache.hpp RingKVCache
std::size_t ring_slot(std::size_t position, std::size_t window);

/// \brief Exercise 6.4: the memory a KV cache needs.
///
/// A key *and* a value per token, layer and key/value head:
/// 2 × layers × kv_heads × d_head × tokens × bytes_per_number × batch.
///
/// \param layers transformer blocks
/// \param kv_heads key/value heads per block
/// \param d_head the width of one head
/// \param tokens positions cached
/// \param bytes_per_number 4 for float32, 2 for fp16
/// \param batch sequences
/// \return bytes
///
/// Throws std::invalid_argument naming kv_cache_bytes when any argument is 0, saying which
/// as `name = value` with the parameter names above, e.g. `kv_heads = 0`.
///
/// Example: 32 layers, 8 kv heads, d_head 128, 4096 tokens, fp16, batch 1: 536870912 bytes
/// (512 MiB, Llama-3-8B at 4k tokens).
///
/// Hint: each token stores a key and a value (the factor 2) per layer and key/value head, each
/// d_head numbers of bytes_per_number bytes, for every sequence of the batch: 2 times all six
/// arguments. std::size_t is 64 bits: the product fits (an int or a 32-bit unsigned does not, past
/// 4 GiB). One message can show all six values, with `std::to_string`.
///
/// Second hint: \f$\mathrm{bytes} = 2\, L\, H_{kv}\, d_{head}\, T\, b\, B\f$ with L = layers,
/// \f$H_{kv}\f$ = kv_heads, T = tokens, b = bytes_per_number and B = batch.
// answered in the library by: chapters/06_kv_cache/kv_cache.cpp kv_cache_bytes
std::size_t kv_cache_bytes(std::size_t layers, std::size_t kv_heads, std::size_t d_head,
                           std::size_t tokens, std::size_t bytes_per_number, std::size_t batch);

}  // namespace attn::ex06
