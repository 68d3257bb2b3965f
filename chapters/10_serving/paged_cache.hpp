/// \file
/// \brief Chapter 10: a paged KV cache. The keys and values of many sequences live in
/// fixed-size blocks of positions taken from one pool; each sequence keeps a block table, the
/// list of its blocks in order. Blocks are shared between sequences that start alike (a
/// fork), and copied when one of them writes into a shared block (copy on write). The
/// numbers are stored as float32 or as int8 with a scale per position and head.
#pragma once

#include "chapters/10_serving/paged_kernels.hpp"

#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

namespace attn {

/// Where a position lives: which physical block of the pool, which row inside it.
struct BlockSlot {
    std::size_t block = 0;   ///< the entry of the block table: a block of the pool
    std::size_t offset = 0;  ///< the row inside the block, 0..block_size-1
};

/// Position p of a sequence is row p % block_size of its table's block p / block_size.
/// Throws std::invalid_argument naming `caller` when block_size is 0 or the table does not
/// reach position p.
BlockSlot block_slot(std::size_t position, std::size_t block_size,
                     const std::vector<std::size_t>& block_table,
                     const char* caller = "attn::block_slot");

/// Checks the entries of a block table that positions 0..n-1 use, blocks_for(n, block_size)
/// of them: each must be a block of a pool of n_blocks. Throws std::invalid_argument naming
/// `caller` and the first entry that is not (`table[2] = 9`), or block_size = 0.
void check_block_table(const std::size_t* table, std::size_t n, std::size_t block_size,
                       std::size_t n_blocks, const char* caller);

/// How many blocks hold `positions` positions: \f$\lceil positions / block\_size \rceil\f$.
std::size_t blocks_for(std::size_t positions, std::size_t block_size);

/// Thrown when a sequence needs a block and none is free. A server catches it and frees
/// memory, e.g. by preempting a sequence; nothing was changed by the call that threw.
class out_of_blocks : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

/// The pool's bookkeeping: which blocks are free, and how many sequences own each block.
class BlockAllocator {
public:
    /// n_blocks free blocks, numbered 0..n_blocks-1. Throws std::invalid_argument for 0.
    explicit BlockAllocator(std::size_t n_blocks);

    /// A free block, now owned once. Throws out_of_blocks naming `caller` when none is free.
    std::size_t allocate(const char* caller = "attn::BlockAllocator::allocate");
    /// One more owner of a block in use (a sequence forked from another).
    void share(std::size_t block);
    /// One owner fewer; the block is free again when none is left. Throws
    /// std::invalid_argument for a block that is already free (freed twice) or does not exist.
    void release(std::size_t block);

    /// How many sequences own the block (0: free).
    std::size_t owners(std::size_t block) const;
    /// How many blocks are free.
    std::size_t free_blocks() const { return free_.size(); }
    /// How many blocks the pool has.
    std::size_t n_blocks() const { return owners_.size(); }

private:
    void check_block(const char* fn, std::size_t block) const;
    std::vector<std::size_t> free_;    // a stack: the block freed last is reused first
    std::vector<std::size_t> owners_;  // per block
};

/// A sequence's name in a BlockTables (and so in a PagedKVCache).
using SequenceId = std::size_t;

/// One sequence's entry in BlockTables: its blocks in order and how many positions they hold.
struct PagedSequence {
    std::vector<std::size_t> blocks;  ///< the block table
    std::size_t length = 0;           ///< positions stored
};

/// What BlockTables::append_position() did: the new position, and whether the sequence's
/// last block was shared and so replaced by a copy (copy on write), which the storage must
/// then fill with the shared block's first `rows` rows.
struct Appended {
    std::size_t position = 0;  ///< the position made room for
    bool copied = false;       ///< the last block was shared: `to` replaces `from`
    std::size_t from = 0;      ///< the shared block, still owned by the other sequences
    std::size_t to = 0;        ///< its copy, now the sequence's own
    std::size_t rows = 0;      ///< rows of `from` to copy: the positions it held
};

/// \brief The block tables of many sequences over one pool: which blocks each sequence holds
/// and how many positions. No keys, no values: the bookkeeping that says where a position's
/// row is, all a scheduler needs to decide who runs (Scheduler), and the first half of a
/// PagedKVCache.
class BlockTables {
public:
    /// A pool of n_blocks blocks of block_size positions. Throws std::invalid_argument naming
    /// attn::BlockTables when either is 0.
    BlockTables(std::size_t n_blocks, std::size_t block_size);

    /// Positions per block.
    std::size_t block_size() const { return block_size_; }
    /// The pool's bookkeeping: which blocks are free, who owns the others.
    const BlockAllocator& allocator() const { return allocator_; }

    /// A new, empty sequence. It owns no block until it grows.
    SequenceId add_sequence();
    /// A new sequence holding the same positions as `parent`, sharing all its blocks (each
    /// gains an owner): nothing is copied. The first write into a shared block copies it.
    SequenceId fork(SequenceId parent, const char* caller = "attn::BlockTables::fork");
    /// Ends a sequence: its blocks lose an owner, and those it alone owned are free again.
    void remove(SequenceId id, const char* caller = "attn::BlockTables::remove");
    /// Whether the sequence exists.
    bool contains(SequenceId id) const { return sequences_.count(id) != 0; }
    /// The sequences, in the order of their ids.
    std::vector<SequenceId> sequences() const;
    /// A sequence's entry. Throws std::invalid_argument naming `caller` and the ids held when
    /// no sequence has this id.
    const PagedSequence& sequence(SequenceId id,
                                  const char* caller = "attn::BlockTables::sequence") const;

    /// The blocks that appending n positions to the sequence would take from the pool: new
    /// blocks, and a copy of its last block when that block is shared and partly filled.
    std::size_t blocks_needed(SequenceId id, std::size_t n,
                              const char* caller = "attn::BlockTables::blocks_needed") const;

    /// Makes room for the next position and counts it in the sequence's length. Takes a new
    /// block when the last one is full; replaces the last block by a new one when it is
    /// shared (copy on write: the caller copies the rows, Appended says which). Throws
    /// out_of_blocks naming `caller`, changing nothing, when a block is needed and none is
    /// free.
    Appended append_position(SequenceId id,
                             const char* caller = "attn::BlockTables::append_position");

private:
    PagedSequence& entry(SequenceId id, const char* caller);
    std::size_t block_size_;
    BlockAllocator allocator_;
    std::map<SequenceId, PagedSequence> sequences_;
    SequenceId next_id_ = 0;
};

/// How the cache stores a number.
enum class KVPrecision {
    float32,  ///< 4 bytes
    int8,     ///< 1 byte, with one float scale per position and head (see Int8Storage)
};

/// \brief Where a paged cache keeps its keys and values: rows of d numbers, a key row and a
/// value row at each row index. A storage type is chosen once, when the cache is made
/// (make_storage()); no access then asks which precision it is.
class KVStorage {
public:
    virtual ~KVStorage() = default;
    /// Stores a key and a value, d finite numbers each, at row r.
    /// \param r the row \param key `[d]` \param value `[d]`
    virtual void write(std::size_t r, const float* key, const float* value) = 0;
    /// Row r's key and value as attention reads them, turned back into floats.
    /// \param r the row \param key `[d]`, written \param value `[d]`, written
    virtual void read(std::size_t r, float* key, float* value) const = 0;
    /// Copies rows from..from+n-1 onto rows to..to+n-1 (copy on write).
    /// \param from the first row copied \param to where it goes \param n rows
    virtual void copy(std::size_t from, std::size_t to, std::size_t n) = 0;
    /// attend_paged() over one head whose block 0 begins at row `first`.
    /// \param q `[d]` \param first block 0's first row \param layout where the blocks are
    /// \param table the sequence's blocks \param n positions \param out `[d]`
    /// \param scores room for n numbers
    virtual void attend(const float* q, std::size_t first, const PagedLayout& layout,
                        const std::size_t* table, std::size_t n, float* out,
                        float* scores) const = 0;
    /// Bytes of one row's key and value, scales included.
    virtual std::size_t bytes_per_row() const = 0;
};

/// Keys and values as float32: 4 bytes a number.
class Float32Storage final : public KVStorage {
public:
    /// `rows` rows of d numbers, zero.
    Float32Storage(std::size_t rows, std::size_t d);
    void write(std::size_t r, const float* key, const float* value) override;
    void read(std::size_t r, float* key, float* value) const override;
    void copy(std::size_t from, std::size_t to, std::size_t n) override;
    void attend(const float* q, std::size_t first, const PagedLayout& layout,
                const std::size_t* table, std::size_t n, float* out, float* scores) const override;
    std::size_t bytes_per_row() const override { return 2 * d_ * sizeof(float); }

private:
    std::size_t d_;
    std::vector<float> keys_, values_;
};

/// \brief Keys and values as int8, one byte a number and a float scale a row.
///
/// Each row (one position, one head) is stored as d int8 numbers and its scale max|x| / 127
/// (quantize_row()): a row is written once, when its token is decoded, and never rewritten,
/// so its scale is known when it is stored.
class Int8Storage final : public KVStorage {
public:
    /// `rows` rows of d numbers, zero.
    Int8Storage(std::size_t rows, std::size_t d);
    void write(std::size_t r, const float* key, const float* value) override;
    void read(std::size_t r, float* key, float* value) const override;
    void copy(std::size_t from, std::size_t to, std::size_t n) override;
    void attend(const float* q, std::size_t first, const PagedLayout& layout,
                const std::size_t* table, std::size_t n, float* out, float* scores) const override;
    std::size_t bytes_per_row() const override { return 2 * (d_ + sizeof(float)); }

private:
    std::size_t d_;
    std::vector<std::int8_t> keys_, values_;
    std::vector<float> key_scales_, value_scales_;
};

/// The storage of a precision: Float32Storage or Int8Storage.
/// \param precision how numbers are kept \param rows rows \param d numbers per row
std::unique_ptr<KVStorage> make_storage(KVPrecision precision, std::size_t rows, std::size_t d);

/// The shape of a paged cache.
struct PagedCacheConfig {
    std::size_t n_layers = 0;                      ///< each layer has its own keys and values
    std::size_t n_kv_heads = 0;                    ///< key/value heads per layer
    std::size_t d_head = 0;                        ///< numbers per head
    std::size_t block_size = 0;                    ///< positions per block
    std::size_t n_blocks = 0;                      ///< blocks in the pool: the memory budget
    KVPrecision precision = KVPrecision::float32;  ///< how keys and values are stored
};

/// \brief A paged KV cache for many sequences: block tables (BlockTables) over a storage
/// (KVStorage).
///
/// Block b holds block_size positions of one sequence in every layer: for layer l and
/// key/value head h, its keys are block_size rows of d_head numbers, contiguous, and its
/// values the same. A sequence's block table lists its blocks; position p is row
/// p % block_size of its block p / block_size (block_slot()). So memory is taken one block
/// at a time as a sequence grows: at most one partly filled block per sequence is wasted.
/// The tables say which block; the storage keeps the rows, in whatever precision it was made
/// with; the kernel (attend_paged()) reads them through a table.
class PagedKVCache {
public:
    /// A sequence's name, given by add_sequence() or fork().
    using SequenceId = attn::SequenceId;

    /// Allocates the pool. Throws std::invalid_argument naming the field that is 0.
    explicit PagedKVCache(const PagedCacheConfig& config);

    /// The cache's shape.
    const PagedCacheConfig& config() const { return config_; }
    /// The block tables: who holds which blocks. A scheduler adds and removes sequences here.
    BlockTables& tables() { return tables_; }
    /// The block tables, read only.
    const BlockTables& tables() const { return tables_; }

    /// A new, empty sequence (BlockTables::add_sequence()).
    SequenceId add_sequence() { return tables_.add_sequence(); }
    /// A sequence sharing all of `parent`'s blocks (BlockTables::fork()).
    SequenceId fork(SequenceId parent) { return tables_.fork(parent, "attn::PagedKVCache::fork"); }
    /// Ends a sequence (BlockTables::remove()).
    void remove(SequenceId id) { tables_.remove(id, "attn::PagedKVCache::remove"); }
    /// Whether the sequence exists.
    bool contains(SequenceId id) const { return tables_.contains(id); }
    /// The sequences, in the order of their ids.
    std::vector<SequenceId> sequences() const { return tables_.sequences(); }
    /// How many positions a sequence holds. Throws std::invalid_argument naming `caller`
    /// when no sequence has this id.
    std::size_t length(SequenceId id, const char* caller = "attn::PagedKVCache::length") const {
        return tables_.sequence(id, caller).length;
    }
    /// A sequence's blocks, in order.
    const std::vector<std::size_t>& block_table(SequenceId id) const {
        return tables_.sequence(id, "attn::PagedKVCache::block_table").blocks;
    }
    /// The blocks appending n positions would take (BlockTables::blocks_needed()).
    std::size_t blocks_needed(SequenceId id, std::size_t n) const {
        return tables_.blocks_needed(id, n, "attn::PagedKVCache::blocks_needed");
    }

    /// Makes room for the next position (BlockTables::append_position()) and, when its last
    /// block was shared, copies the rows into the new one in every layer and head. The caller
    /// then stores the position's key and value in every layer (store()). Throws
    /// out_of_blocks, changing nothing, when a block is needed and none is free.
    /// \return the new position
    std::size_t append_position(SequenceId id);

    /// Stores the key and value of a position already counted by append_position(). Throws
    /// std::invalid_argument, storing nothing, for a position in a block shared with another
    /// sequence, and for a key or value that is NaN or infinite, in either precision: int8 has
    /// no code for it, and in float32 it would make every score of its head NaN.
    /// \param layer the layer, 0..n_layers-1
    /// \param id the sequence
    /// \param position a position of the sequence, below its length()
    /// \param keys `n_kv_heads * d_head` numbers: the position's keys, head after head
    /// \param values the same for the values
    void store(std::size_t layer, SequenceId id, std::size_t position, const float* keys,
               const float* values);

    /// Attention of one query over positions 0..n-1 of a sequence's key/value head, read
    /// through its block table: \f$\mathrm{softmax}(K q / \sqrt{d})\, V\f$.
    /// \param layer the layer
    /// \param id the sequence
    /// \param kv_head the key/value head
    /// \param q `[d_head]`
    /// \param n how many positions, 1..length()
    /// \param out `[d_head]`, the result
    /// \param scores room for n numbers
    void attend(std::size_t layer, SequenceId id, std::size_t kv_head, const float* q,
                std::size_t n, float* out, float* scores) const;

    /// Position p's keys of a layer and head, as stored numbers turned back into float: what
    /// attention reads. `[d_head]`.
    /// \param layer the layer \param id the sequence \param kv_head the key/value head
    /// \param position below length()
    std::vector<float> key(std::size_t layer, SequenceId id, std::size_t kv_head,
                           std::size_t position) const;
    /// The value row, as key().
    /// \param layer the layer \param id the sequence \param kv_head the key/value head
    /// \param position below length()
    std::vector<float> value(std::size_t layer, SequenceId id, std::size_t kv_head,
                             std::size_t position) const;

    /// The pool's bookkeeping.
    const BlockAllocator& allocator() const { return tables_.allocator(); }
    /// Bytes one position takes in every layer, keys and values (scales included).
    std::size_t bytes_per_position() const {
        return config_.n_layers * config_.n_kv_heads * storage_->bytes_per_row();
    }
    /// Bytes of the whole pool.
    std::size_t bytes() const {
        return bytes_per_position() * config_.block_size * config_.n_blocks;
    }

private:
    void check_head(const char* fn, std::size_t kv_head) const;
    // The row of a stored position's layer and head, after checking all four.
    std::size_t checked_row(const char* fn, std::size_t layer, SequenceId id, std::size_t kv_head,
                            std::size_t position) const;
    // Index of row `offset` of a block's layer and head, in rows of d_head numbers.
    std::size_t row(std::size_t layer, std::size_t block, std::size_t head,
                    std::size_t offset) const;
    // Where a layer's blocks of one head are, from block 0's first row.
    PagedLayout layout() const;

    PagedCacheConfig config_;
    BlockTables tables_;
    std::unique_ptr<KVStorage> storage_;
};

/// Symmetric int8 quantisation of n numbers: scale = max|x| / 127 and
/// \f$q_i = \mathrm{round}(x_i / scale)\f$, so \f$|q_i| \le 127\f$ and
/// \f$|q_i \cdot scale - x_i| \le scale / 2\f$. A row of zeros has scale 0. Throws
/// std::invalid_argument naming the number (`x[3] = NaN`) when one is NaN or infinite.
/// \return the scale
float quantize_row(const float* x, std::size_t n, std::int8_t* q);

}  // namespace attn
