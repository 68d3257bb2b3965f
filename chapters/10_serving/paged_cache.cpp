#include "chapters/10_serving/paged_cache.hpp"

#include "chapters/10_serving/paged_kernels.hpp"
#include "common/shape.hpp"

#include <algorithm>
#include <cmath>
#include <string>
#include <utility>

namespace attn {

BlockSlot block_slot(std::size_t position, std::size_t block_size,
                     const std::vector<std::size_t>& block_table, const char* caller) {
    check_positive(caller, "block_size", block_size);
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
    check_positive(caller, "block_size", block_size, "a block holds at least 1 row");
    const std::size_t used = blocks_for(n, block_size);
    for (std::size_t i = 0; i < used; ++i) {
        if (table[i] >= n_blocks) {
            invalid_argument(
                caller, "table[" + std::to_string(i) + "] = " + std::to_string(table[i]) +
                            " is not a block of the pool, which has n_blocks = " +
                            std::to_string(n_blocks) +
                            (n_blocks == 0 ? std::string(" (PagedLayout::n_blocks is not set)")
                                           : " (blocks 0.." + std::to_string(n_blocks - 1) + ")"));
        }
    }
}

std::size_t blocks_for(std::size_t positions, std::size_t block_size) {
    check_positive("attn::blocks_for", "block_size", block_size);
    return (positions + block_size - 1) / block_size;
}

BlockAllocator::BlockAllocator(std::size_t n_blocks) : owners_(n_blocks, 0) {
    check_positive("attn::BlockAllocator", "n_blocks", n_blocks);
    // Block 0 on top of the stack: a new pool hands out 0, 1, 2, ...
    for (std::size_t b = n_blocks; b-- > 0;) free_.push_back(b);
}

void BlockAllocator::check_block(const char* fn, std::size_t block) const {
    check_index(fn, "block", block, owners_.size(), "blocks in the pool");
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

BlockTables::BlockTables(std::size_t n_blocks, std::size_t block_size)
    : block_size_(block_size), allocator_(n_blocks) {
    check_positive("attn::BlockTables", "block_size", block_size);
}

const PagedSequence& BlockTables::sequence(SequenceId id, const char* caller) const {
    const auto it = sequences_.find(id);
    if (it == sequences_.end()) {
        std::string held;
        for (const auto& [k, s] : sequences_)
            held += (held.empty() ? "" : ", ") + std::to_string(k);
        invalid_argument(caller, "no sequence has id " + std::to_string(id) + " (the cache holds " +
                                     (held.empty() ? std::string("none") : held) + ")");
    }
    return it->second;
}

PagedSequence& BlockTables::entry(SequenceId id, const char* caller) {
    return const_cast<PagedSequence&>(static_cast<const BlockTables&>(*this).sequence(id, caller));
}

SequenceId BlockTables::add_sequence() {
    sequences_[next_id_] = PagedSequence{};
    return next_id_++;
}

SequenceId BlockTables::fork(SequenceId parent, const char* caller) {
    const PagedSequence copy = sequence(parent, caller);
    for (std::size_t b : copy.blocks) allocator_.share(b);
    sequences_[next_id_] = copy;
    return next_id_++;
}

void BlockTables::remove(SequenceId id, const char* caller) {
    for (std::size_t b : sequence(id, caller).blocks) allocator_.release(b);
    sequences_.erase(id);
}

std::vector<SequenceId> BlockTables::sequences() const {
    std::vector<SequenceId> ids;
    for (const auto& [id, s] : sequences_) ids.push_back(id);
    return ids;
}

std::size_t BlockTables::blocks_needed(SequenceId id, std::size_t n, const char* caller) const {
    const PagedSequence& s = sequence(id, caller);
    std::size_t needed = blocks_for(s.length + n, block_size_) - s.blocks.size();
    const bool partly_filled = s.length % block_size_ != 0;
    if (n > 0 && partly_filled && allocator_.owners(s.blocks.back()) > 1) ++needed;  // its copy
    return needed;
}

Appended BlockTables::append_position(SequenceId id, const char* caller) {
    PagedSequence& s = entry(id, caller);
    Appended a;
    const std::size_t offset = s.length % block_size_;
    if (offset == 0) {
        s.blocks.push_back(allocator_.allocate(caller));  // throws before anything changed
    } else if (allocator_.owners(s.blocks.back()) > 1) {
        // Copy on write: the last block is shared with another sequence, which keeps it.
        a = {0, true, s.blocks.back(), allocator_.allocate(caller), offset};
        allocator_.release(a.from);
        s.blocks.back() = a.to;
    }
    a.position = s.length++;
    return a;
}

Float32Storage::Float32Storage(std::size_t rows, std::size_t d)
    : d_(d), keys_(rows * d, 0.0f), values_(rows * d, 0.0f) {}

void Float32Storage::write(std::size_t r, const float* key, const float* value) {
    std::copy_n(key, d_, &keys_[r * d_]);
    std::copy_n(value, d_, &values_[r * d_]);
}

void Float32Storage::read(std::size_t r, float* key, float* value) const {
    std::copy_n(&keys_[r * d_], d_, key);
    std::copy_n(&values_[r * d_], d_, value);
}

void Float32Storage::copy(std::size_t from, std::size_t to, std::size_t n) {
    std::copy_n(&keys_[from * d_], n * d_, &keys_[to * d_]);
    std::copy_n(&values_[from * d_], n * d_, &values_[to * d_]);
}

void Float32Storage::attend(const float* q, std::size_t first, const PagedLayout& layout,
                            const std::size_t* table, std::size_t n, float* out,
                            float* scores) const {
    attend_paged(q, Float32Head{&keys_[first * d_], &values_[first * d_], layout}, table, n, out,
                 scores);
}

Int8Storage::Int8Storage(std::size_t rows, std::size_t d)
    : d_(d), keys_(rows * d, 0), values_(rows * d, 0), key_scales_(rows), value_scales_(rows) {}

void Int8Storage::write(std::size_t r, const float* key, const float* value) {
    key_scales_[r] = quantize_row(key, d_, &keys_[r * d_]);
    value_scales_[r] = quantize_row(value, d_, &values_[r * d_]);
}

void Int8Storage::read(std::size_t r, float* key, float* value) const {
    for (std::size_t i = 0; i < d_; ++i) {
        key[i] = static_cast<float>(keys_[r * d_ + i]) * key_scales_[r];
        value[i] = static_cast<float>(values_[r * d_ + i]) * value_scales_[r];
    }
}

void Int8Storage::copy(std::size_t from, std::size_t to, std::size_t n) {
    std::copy_n(&keys_[from * d_], n * d_, &keys_[to * d_]);
    std::copy_n(&values_[from * d_], n * d_, &values_[to * d_]);
    std::copy_n(&key_scales_[from], n, &key_scales_[to]);
    std::copy_n(&value_scales_[from], n, &value_scales_[to]);
}

void Int8Storage::attend(const float* q, std::size_t first, const PagedLayout& layout,
                         const std::size_t* table, std::size_t n, float* out, float* scores) const {
    const Int8Head h{&keys_[first * d_], &values_[first * d_], &key_scales_[first],
                     &value_scales_[first], layout};
    attend_paged(q, h, table, n, out, scores);
}

std::unique_ptr<KVStorage> make_storage(KVPrecision precision, std::size_t rows, std::size_t d) {
    if (precision == KVPrecision::int8) return std::make_unique<Int8Storage>(rows, d);
    return std::make_unique<Float32Storage>(rows, d);
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

void check_position(const char* fn, std::size_t layer, std::size_t n_layers, std::size_t position,
                    std::size_t length) {
    check_index(fn, "layer", layer, n_layers, "layers of the cache");
    if (position >= length) {
        invalid_argument(fn, "position " + std::to_string(position) +
                                 " is not in the sequence, which holds " + std::to_string(length) +
                                 " positions (append_position() counts a new one)");
    }
}

}  // namespace

PagedKVCache::PagedKVCache(const PagedCacheConfig& config)
    : config_(checked(config)),
      tables_(config.n_blocks, config.block_size),
      // Every layer's rows of every block and head: the precision is chosen here, once.
      storage_(
          make_storage(config.precision,
                       config.n_layers * config.n_blocks * config.n_kv_heads * config.block_size,
                       config.d_head)) {}

std::size_t PagedKVCache::row(std::size_t layer, std::size_t block, std::size_t head,
                              std::size_t offset) const {
    return ((layer * config_.n_blocks + block) * config_.n_kv_heads + head) * config_.block_size +
           offset;
}

std::size_t PagedKVCache::append_position(SequenceId id) {
    const Appended a = tables_.append_position(id, "attn::PagedKVCache::append_position");
    if (a.copied) {
        for (std::size_t l = 0; l < config_.n_layers; ++l)
            for (std::size_t h = 0; h < config_.n_kv_heads; ++h)
                storage_->copy(row(l, a.from, h, 0), row(l, a.to, h, 0), a.rows);
    }
    return a.position;
}

void PagedKVCache::store(std::size_t layer, SequenceId id, std::size_t position, const float* keys,
                         const float* values) {
    constexpr const char* fn = "attn::PagedKVCache::store";
    const PagedSequence& s = tables_.sequence(id, fn);
    check_position(fn, layer, config_.n_layers, position, s.length);
    const BlockSlot slot = block_slot(position, config_.block_size, s.blocks, fn);
    if (allocator().owners(slot.block) > 1) {
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
    for (std::size_t h = 0; h < config_.n_kv_heads; ++h)
        storage_->write(row(layer, slot.block, h, slot.offset), keys + h * d, values + h * d);
}

void PagedKVCache::check_head(const char* fn, std::size_t kv_head) const {
    check_index(fn, "kv_head", kv_head, config_.n_kv_heads, "key/value heads of the cache");
}

std::size_t PagedKVCache::checked_row(const char* fn, std::size_t layer, SequenceId id,
                                      std::size_t kv_head, std::size_t position) const {
    const PagedSequence& s = tables_.sequence(id, fn);
    check_position(fn, layer, config_.n_layers, position, s.length);
    check_head(fn, kv_head);
    const BlockSlot slot = block_slot(position, config_.block_size, s.blocks, fn);
    return row(layer, slot.block, kv_head, slot.offset);
}

std::vector<float> PagedKVCache::key(std::size_t layer, SequenceId id, std::size_t kv_head,
                                     std::size_t position) const {
    const std::size_t r = checked_row("attn::PagedKVCache::key", layer, id, kv_head, position);
    std::vector<float> k(config_.d_head), v(config_.d_head);
    storage_->read(r, k.data(), v.data());
    return k;
}

std::vector<float> PagedKVCache::value(std::size_t layer, SequenceId id, std::size_t kv_head,
                                       std::size_t position) const {
    const std::size_t r = checked_row("attn::PagedKVCache::value", layer, id, kv_head, position);
    std::vector<float> k(config_.d_head), v(config_.d_head);
    storage_->read(r, k.data(), v.data());
    return v;
}

PagedLayout PagedKVCache::layout() const {
    // From one block of a layer and head to the next: every head's rows of the block.
    return {config_.n_kv_heads * config_.block_size, config_.block_size, config_.d_head,
            config_.n_blocks};
}

void PagedKVCache::attend(std::size_t layer, SequenceId id, std::size_t kv_head, const float* q,
                          std::size_t n, float* out, float* scores) const {
    constexpr const char* fn = "attn::PagedKVCache::attend";
    check_positive(fn, "n", n, "a query attends over its own key at least");
    const PagedSequence& s = tables_.sequence(id, fn);
    check_position(fn, layer, config_.n_layers, n - 1, s.length);
    check_head(fn, kv_head);
    storage_->attend(q, row(layer, 0, kv_head, 0), layout(), s.blocks.data(), n, out, scores);
}

}  // namespace attn
