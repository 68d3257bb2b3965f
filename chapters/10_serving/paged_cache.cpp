#include "chapters/10_serving/paged_cache.hpp"

#include "chapters/10_serving/paged_kernels.hpp"
#include "common/shape.hpp"

#include <algorithm>
#include <cmath>
#include <utility>

namespace attn {

BlockSlot block_slot(std::size_t position, std::size_t block_size,
                     const std::vector<std::size_t>& block_table, const char* caller) {
    if (block_size == 0) invalid_argument(caller, "block_size must be at least 1, got 0");
    if (position / block_size >= block_table.size()) {
        invalid_argument(
            caller, "position " + std::to_string(position) + " is not in the block table: its " +
                        std::to_string(block_table.size()) + " blocks of " +
                        std::to_string(block_size) + " hold positions 0.." +
                        std::to_string(block_table.size() * block_size) + " (excluded)");
    }
    return {block_table[position / block_size], position % block_size};
}

void check_block_table(const std::size_t* table, std::size_t n, std::size_t block_size,
                       std::size_t n_blocks, const char* caller) {
    if (block_size == 0) invalid_argument(caller, "block_size = 0: a block holds at least 1 row");
    const std::size_t used = blocks_for(n, block_size);
    for (std::size_t i = 0; i < used; ++i) {
        if (table[i] >= n_blocks) {
            invalid_argument(
                caller, "table[" + std::to_string(i) + "] = " + std::to_string(table[i]) +
                            " is not a block of the pool, which has n_blocks = " +
                            std::to_string(n_blocks) +
                            (n_blocks == 0 ? std::string(" (PagedHead::n_blocks is not set)")
                                           : " (blocks 0.." + std::to_string(n_blocks - 1) + ")"));
        }
    }
}

std::size_t blocks_for(std::size_t positions, std::size_t block_size) {
    if (block_size == 0)
        invalid_argument("attn::blocks_for", "block_size must be at least 1, got 0");
    return (positions + block_size - 1) / block_size;
}

BlockAllocator::BlockAllocator(std::size_t n_blocks) : owners_(n_blocks, 0) {
    if (n_blocks == 0)
        invalid_argument("attn::BlockAllocator", "n_blocks must be at least 1, got 0");
    // Block 0 on top of the stack: a new pool hands out 0, 1, 2, ...
    for (std::size_t b = n_blocks; b-- > 0;) free_.push_back(b);
}

void BlockAllocator::check_block(const char* fn, std::size_t block) const {
    if (block >= owners_.size()) {
        invalid_argument(fn, "block " + std::to_string(block) + " does not exist: the pool has " +
                                 std::to_string(owners_.size()) + " blocks, 0.." +
                                 std::to_string(owners_.size() - 1));
    }
}

std::size_t BlockAllocator::allocate(const char* caller) {
    if (free_.empty()) {
        throw out_of_blocks(std::string(caller) + ": no block is free (all " +
                            std::to_string(owners_.size()) + " are in use)");
    }
    const std::size_t b = free_.back();
    free_.pop_back();
    owners_[b] = 1;
    return b;
}

void BlockAllocator::share(std::size_t block) {
    constexpr const char* fn = "attn::BlockAllocator::share";
    check_block(fn, block);
    if (owners_[block] == 0)
        invalid_argument(fn,
                         "block " + std::to_string(block) + " is free: nobody owns it to share it");
    ++owners_[block];
}

void BlockAllocator::release(std::size_t block) {
    constexpr const char* fn = "attn::BlockAllocator::release";
    check_block(fn, block);
    if (owners_[block] == 0) {
        invalid_argument(fn, "block " + std::to_string(block) + " is already free (freed twice?)");
    }
    if (--owners_[block] == 0) free_.push_back(block);
}

std::size_t BlockAllocator::owners(std::size_t block) const {
    check_block("attn::BlockAllocator::owners", block);
    return owners_[block];
}

namespace {

// The first of n numbers that is NaN or infinite, or n when all are finite.
std::size_t first_not_finite(const float* x, std::size_t n) {
    std::size_t i = 0;
    while (i < n && std::isfinite(x[i])) ++i;
    return i;
}

// "NaN", "inf" or "-inf".
std::string not_finite_text(float x) {
    return std::isnan(x) ? "NaN" : (x > 0 ? "inf" : "-inf");
}

}  // namespace

float quantize_row(const float* x, std::size_t n, std::int8_t* q) {
    // NaN has no int8 code (casting it to an integer is undefined behaviour), and an
    // infinite scale would turn every number of the row into NaN when read back.
    if (const std::size_t i = first_not_finite(x, n); i < n) {
        invalid_argument("attn::quantize_row", "x[" + std::to_string(i) +
                                                   "] = " + not_finite_text(x[i]) +
                                                   ": only finite numbers have an int8 code");
    }
    float largest = 0.0f;
    for (std::size_t i = 0; i < n; ++i) largest = std::max(largest, std::abs(x[i]));
    if (largest == 0.0f) {
        std::fill(q, q + n, std::int8_t{0});
        return 0.0f;
    }
    const float scale = largest / 127.0f;
    for (std::size_t i = 0; i < n; ++i) {
        // |x_i| / scale <= 127 up to rounding: clamp so that rounding never leaves int8.
        const float r = std::round(x[i] / scale);
        q[i] = static_cast<std::int8_t>(std::clamp(r, -127.0f, 127.0f));
    }
    return scale;
}

namespace {

PagedCacheConfig checked(const PagedCacheConfig& c) {
    constexpr const char* fn = "attn::PagedKVCache";
    const std::pair<const char*, std::size_t> fields[] = {{"n_layers", c.n_layers},
                                                          {"n_kv_heads", c.n_kv_heads},
                                                          {"d_head", c.d_head},
                                                          {"block_size", c.block_size},
                                                          {"n_blocks", c.n_blocks}};
    for (const auto& [name, value] : fields)
        if (value == 0) invalid_argument(fn, std::string(name) + " must be at least 1, got 0");
    return c;
}

}  // namespace

PagedKVCache::PagedKVCache(const PagedCacheConfig& config)
    : config_(checked(config)), allocator_(config.n_blocks) {
    const std::size_t rows =
        config_.n_layers * config_.n_blocks * config_.n_kv_heads * config_.block_size;
    if (config_.precision == KVPrecision::float32) {
        keys_.assign(rows * config_.d_head, 0.0f);
        values_.assign(rows * config_.d_head, 0.0f);
    } else {
        keys_q_.assign(rows * config_.d_head, 0);
        values_q_.assign(rows * config_.d_head, 0);
        key_scales_.assign(rows, 0.0f);
        value_scales_.assign(rows, 0.0f);
    }
}

const PagedKVCache::Sequence& PagedKVCache::sequence(const char* fn, SequenceId id) const {
    const auto it = sequences_.find(id);
    if (it == sequences_.end()) {
        std::string held;
        for (const auto& [k, s] : sequences_)
            held += (held.empty() ? "" : ", ") + std::to_string(k);
        invalid_argument(fn, "no sequence has id " + std::to_string(id) + " (the cache holds " +
                                 (held.empty() ? std::string("none") : held) + ")");
    }
    return it->second;
}

PagedKVCache::Sequence& PagedKVCache::sequence(const char* fn, SequenceId id) {
    return const_cast<Sequence&>(static_cast<const PagedKVCache&>(*this).sequence(fn, id));
}

PagedKVCache::SequenceId PagedKVCache::add_sequence() {
    sequences_[next_id_] = Sequence{};
    return next_id_++;
}

PagedKVCache::SequenceId PagedKVCache::fork(SequenceId parent) {
    const Sequence copy = sequence("attn::PagedKVCache::fork", parent);
    for (std::size_t b : copy.blocks) allocator_.share(b);
    sequences_[next_id_] = copy;
    return next_id_++;
}

void PagedKVCache::remove(SequenceId id) {
    const Sequence& s = sequence("attn::PagedKVCache::remove", id);
    for (std::size_t b : s.blocks) allocator_.release(b);
    sequences_.erase(id);
}

std::vector<PagedKVCache::SequenceId> PagedKVCache::sequences() const {
    std::vector<SequenceId> ids;
    for (const auto& [id, s] : sequences_) ids.push_back(id);
    return ids;
}

std::size_t PagedKVCache::length(SequenceId id, const char* caller) const {
    return sequence(caller, id).length;
}

const std::vector<std::size_t>& PagedKVCache::block_table(SequenceId id) const {
    return sequence("attn::PagedKVCache::block_table", id).blocks;
}

std::size_t PagedKVCache::blocks_needed(SequenceId id, std::size_t n) const {
    const Sequence& s = sequence("attn::PagedKVCache::blocks_needed", id);
    const std::size_t bs = config_.block_size;
    std::size_t needed = blocks_for(s.length + n, bs) - s.blocks.size();
    const bool partly_filled = s.length % bs != 0;
    if (n > 0 && partly_filled && allocator_.owners(s.blocks.back()) > 1) ++needed;  // its copy
    return needed;
}

std::size_t PagedKVCache::row(std::size_t layer, std::size_t block, std::size_t head,
                              std::size_t offset) const {
    return ((layer * config_.n_blocks + block) * config_.n_kv_heads + head) * config_.block_size +
           offset;
}

void PagedKVCache::copy_block(std::size_t from, std::size_t to, std::size_t rows) {
    const std::size_t d = config_.d_head;
    for (std::size_t l = 0; l < config_.n_layers; ++l) {
        for (std::size_t h = 0; h < config_.n_kv_heads; ++h) {
            const std::size_t a = row(l, from, h, 0), b = row(l, to, h, 0);
            if (config_.precision == KVPrecision::float32) {
                std::copy_n(&keys_[a * d], rows * d, &keys_[b * d]);
                std::copy_n(&values_[a * d], rows * d, &values_[b * d]);
            } else {
                std::copy_n(&keys_q_[a * d], rows * d, &keys_q_[b * d]);
                std::copy_n(&values_q_[a * d], rows * d, &values_q_[b * d]);
                std::copy_n(&key_scales_[a], rows, &key_scales_[b]);
                std::copy_n(&value_scales_[a], rows, &value_scales_[b]);
            }
        }
    }
}

std::size_t PagedKVCache::append_position(SequenceId id) {
    constexpr const char* fn = "attn::PagedKVCache::append_position";
    Sequence& s = sequence(fn, id);
    const std::size_t bs = config_.block_size, offset = s.length % bs;
    if (offset == 0) {
        s.blocks.push_back(allocator_.allocate(fn));  // throws before anything changed
    } else if (allocator_.owners(s.blocks.back()) > 1) {
        // Copy on write: the last block is shared with another sequence, which keeps it.
        const std::size_t shared = s.blocks.back();
        const std::size_t copy = allocator_.allocate(fn);
        copy_block(shared, copy, offset);
        allocator_.release(shared);
        s.blocks.back() = copy;
    }
    return s.length++;
}

void PagedKVCache::write_row(std::size_t r, const float* x, std::vector<float>& f,
                             std::vector<std::int8_t>& q, std::vector<float>& scales) {
    const std::size_t d = config_.d_head;
    if (config_.precision == KVPrecision::float32)
        std::copy_n(x, d, &f[r * d]);
    else
        scales[r] = quantize_row(x, d, &q[r * d]);
}

std::vector<float> PagedKVCache::read_row(std::size_t r, const std::vector<float>& f,
                                          const std::vector<std::int8_t>& q,
                                          const std::vector<float>& scales) const {
    const std::size_t d = config_.d_head;
    std::vector<float> x(d);
    for (std::size_t i = 0; i < d; ++i)
        x[i] = config_.precision == KVPrecision::float32
                   ? f[r * d + i]
                   : static_cast<float>(q[r * d + i]) * scales[r];
    return x;
}

namespace {

void check_position(const char* fn, std::size_t layer, std::size_t n_layers, std::size_t position,
                    std::size_t length) {
    if (layer >= n_layers) {
        invalid_argument(fn, "layer " + std::to_string(layer) + " does not exist: the cache has " +
                                 std::to_string(n_layers) + " layers");
    }
    if (position >= length) {
        invalid_argument(fn, "position " + std::to_string(position) +
                                 " is not in the sequence, which holds " + std::to_string(length) +
                                 " positions (append_position() counts a new one)");
    }
}

}  // namespace

void PagedKVCache::store(std::size_t layer, SequenceId id, std::size_t position, const float* keys,
                         const float* values) {
    constexpr const char* fn = "attn::PagedKVCache::store";
    const Sequence& s = sequence(fn, id);
    check_position(fn, layer, config_.n_layers, position, s.length);
    const BlockSlot slot = block_slot(position, config_.block_size, s.blocks, fn);
    if (allocator_.owners(slot.block) > 1) {
        invalid_argument(fn, "position " + std::to_string(position) + " is in block " +
                                 std::to_string(slot.block) +
                                 ", shared with another sequence: a stored position is never "
                                 "rewritten");
    }
    // Checked before any row is written, in both precisions: int8 has no code for NaN or inf,
    // and in float32 one NaN key would make every score of its head NaN, silently.
    const std::size_t d = config_.d_head, numbers = config_.n_kv_heads * d;
    for (const auto& [name, x] : {std::pair{"keys", keys}, std::pair{"values", values}}) {
        if (const std::size_t i = first_not_finite(x, numbers); i < numbers) {
            invalid_argument(fn, std::string(name) + "[" + std::to_string(i) +
                                     "] = " + not_finite_text(x[i]) +
                                     " (kv_head = " + std::to_string(i / d) + ", number " +
                                     std::to_string(i % d) + " of d_head = " + std::to_string(d) +
                                     ") at layer = " + std::to_string(layer) +
                                     ", position = " + std::to_string(position) + " of sequence " +
                                     std::to_string(id) + ": the cache holds finite numbers only");
        }
    }
    for (std::size_t h = 0; h < config_.n_kv_heads; ++h) {
        const std::size_t r = row(layer, slot.block, h, slot.offset);
        write_row(r, keys + h * config_.d_head, keys_, keys_q_, key_scales_);
        write_row(r, values + h * config_.d_head, values_, values_q_, value_scales_);
    }
}

void PagedKVCache::check_head(const char* fn, std::size_t kv_head) const {
    if (kv_head >= config_.n_kv_heads) {
        invalid_argument(fn, "kv_head " + std::to_string(kv_head) +
                                 " does not exist: the cache has " +
                                 std::to_string(config_.n_kv_heads) + " key/value heads");
    }
}

std::size_t PagedKVCache::checked_row(const char* fn, std::size_t layer, SequenceId id,
                                      std::size_t kv_head, std::size_t position) const {
    const Sequence& s = sequence(fn, id);
    check_position(fn, layer, config_.n_layers, position, s.length);
    check_head(fn, kv_head);
    const BlockSlot slot = block_slot(position, config_.block_size, s.blocks, fn);
    return row(layer, slot.block, kv_head, slot.offset);
}

std::vector<float> PagedKVCache::key(std::size_t layer, SequenceId id, std::size_t kv_head,
                                     std::size_t position) const {
    const std::size_t r = checked_row("attn::PagedKVCache::key", layer, id, kv_head, position);
    return read_row(r, keys_, keys_q_, key_scales_);
}

std::vector<float> PagedKVCache::value(std::size_t layer, SequenceId id, std::size_t kv_head,
                                       std::size_t position) const {
    const std::size_t r = checked_row("attn::PagedKVCache::value", layer, id, kv_head, position);
    return read_row(r, values_, values_q_, value_scales_);
}

void PagedKVCache::attend(std::size_t layer, SequenceId id, std::size_t kv_head, const float* q,
                          std::size_t n, float* out, float* scores) const {
    constexpr const char* fn = "attn::PagedKVCache::attend";
    if (n == 0)
        invalid_argument(fn, "n must be at least 1: a query attends over its own key at least");
    const Sequence& s = sequence(fn, id);
    check_position(fn, layer, config_.n_layers, n - 1, s.length);
    check_head(fn, kv_head);
    PagedHead h;
    const std::size_t first = row(layer, 0, kv_head, 0), d = config_.d_head;
    h.block_stride = config_.n_kv_heads * config_.block_size * d;
    h.scale_stride = config_.n_kv_heads * config_.block_size;
    h.block_size = config_.block_size;
    h.d = d;
    h.n_blocks = config_.n_blocks;
    if (config_.precision == KVPrecision::float32) {
        h.keys = &keys_[first * d];
        h.values = &values_[first * d];
    } else {
        h.keys_q = &keys_q_[first * d];
        h.values_q = &values_q_[first * d];
        h.key_scales = &key_scales_[first];
        h.value_scales = &value_scales_[first];
    }
    attend_paged(q, h, s.blocks.data(), n, out, scores);
}

std::size_t PagedKVCache::bytes_per_position() const {
    const std::size_t numbers = config_.n_layers * config_.n_kv_heads * config_.d_head * 2;
    if (config_.precision == KVPrecision::float32) return numbers * sizeof(float);
    return numbers + config_.n_layers * config_.n_kv_heads * 2 * sizeof(float);
}

}  // namespace attn
