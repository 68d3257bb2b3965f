/// \file
/// \brief Chapter 10: a paged KV cache. The keys and values of many sequences live in
/// fixed-size blocks of positions taken from one pool; each sequence keeps a block table, the
/// list of its blocks in order. Blocks are shared between sequences that start alike (a
/// fork), and copied when one of them writes into a shared block (copy on write). The
/// numbers are stored as float32 or as int8 with a scale per position and head.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
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

/// How the cache stores a number.
enum class KVPrecision {
    float32,  ///< 4 bytes
    int8,     ///< 1 byte, with one float scale per position and head (see PagedKVCache)
};

/// The shape of a paged cache.
struct PagedCacheConfig {
    std::size_t n_layers = 0;                      ///< each layer has its own keys and values
    std::size_t n_kv_heads = 0;                    ///< key/value heads per layer
    std::size_t d_head = 0;                        ///< numbers per head
    std::size_t block_size = 0;                    ///< positions per block
    std::size_t n_blocks = 0;                      ///< blocks in the pool: the memory budget
    KVPrecision precision = KVPrecision::float32;  ///< how keys and values are stored
};

/// One sequence of a PagedKVCache: its blocks in order and how many positions they hold.
struct PagedSequence {
    std::vector<std::size_t> blocks;  ///< the block table
    std::size_t length = 0;           ///< positions stored
};

/// \brief A paged KV cache for many sequences.
///
/// Block b holds block_size positions of one sequence in every layer: for layer l and
/// key/value head h, its keys are block_size rows of d_head numbers, contiguous, and its
/// values the same. A sequence's block table lists its blocks; position p is row
/// p % block_size of its block p / block_size (block_slot()). So memory is taken one block
/// at a time as a sequence grows: at most one partly filled block per sequence is wasted.
///
/// With KVPrecision::int8 each row (one position, one head) is stored as d_head int8
/// numbers and its scale max|x| / 127 (quantize_row()): a row is written once, when its
/// token is decoded, and never rewritten, so its scale is known when it is stored.
class PagedKVCache {
public:
    /// A sequence's name, given by add_sequence() or fork().
    using SequenceId = std::size_t;

    /// Allocates the pool. Throws std::invalid_argument naming the field that is 0.
    explicit PagedKVCache(const PagedCacheConfig& config);

    /// The cache's shape.
    const PagedCacheConfig& config() const { return config_; }

    /// A new, empty sequence. It owns no block until it grows.
    SequenceId add_sequence();
    /// A new sequence holding the same positions as `parent`, sharing all its blocks (each
    /// gains an owner): nothing is copied. The first write into a shared block copies it.
    SequenceId fork(SequenceId parent);
    /// Ends a sequence: its blocks lose an owner, and those it alone owned are free again.
    void remove(SequenceId id);
    /// Whether the sequence exists.
    bool contains(SequenceId id) const { return sequences_.count(id) != 0; }
    /// The sequences, in the order of their ids.
    std::vector<SequenceId> sequences() const;

    /// How many positions a sequence holds. Throws std::invalid_argument naming `caller`
    /// when no sequence has this id.
    std::size_t length(SequenceId id, const char* caller = "attn::PagedKVCache::length") const;
    /// A sequence's blocks, in order.
    const std::vector<std::size_t>& block_table(SequenceId id) const;

    /// The blocks that appending n positions to the sequence would take from the pool: new
    /// blocks, and a copy of its last block when that block is shared and partly filled.
    std::size_t blocks_needed(SequenceId id, std::size_t n) const;

    /// Makes room for the next position and counts it in length(); the caller then stores
    /// its key and value in every layer (store()). Takes a new block when the last one is
    /// full; copies the last block first when it is shared (copy on write). Throws
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

    /// Position p's keys (or values) of a layer and head, as stored numbers turned back into
    /// float: what attention reads. `[d_head]`.
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
    const BlockAllocator& allocator() const { return allocator_; }
    /// Bytes one position takes in every layer, keys and values (scales included).
    std::size_t bytes_per_position() const;
    /// Bytes of the whole pool.
    std::size_t bytes() const {
        return bytes_per_position() * config_.block_size * config_.n_blocks;
    }

private:
    using Sequence = PagedSequence;
    const Sequence& sequence(const char* fn, SequenceId id) const;
    Sequence& sequence(const char* fn, SequenceId id);
    void check_head(const char* fn, std::size_t kv_head) const;
    // The row of a stored position's layer and head, after checking all four.
    std::size_t checked_row(const char* fn, std::size_t layer, SequenceId id, std::size_t kv_head,
                            std::size_t position) const;
    // Index of row `offset` of a block's layer and head, in rows of d_head numbers.
    std::size_t row(std::size_t layer, std::size_t block, std::size_t head,
                    std::size_t offset) const;
    void copy_block(std::size_t from, std::size_t to, std::size_t rows);
    void write_row(std::size_t r, const float* x, std::vector<float>& f,
                   std::vector<std::int8_t>& q, std::vector<float>& scales);
    std::vector<float> read_row(std::size_t r, const std::vector<float>& f,
                                const std::vector<std::int8_t>& q,
                                const std::vector<float>& scales) const;

    PagedCacheConfig config_;
    BlockAllocator allocator_;
    std::map<SequenceId, Sequence> sequences_;
    SequenceId next_id_ = 0;
    // float32: keys_ and values_; int8: keys_q_, values_q_ and a scale per row.
    std::vector<float> keys_, values_;
    std::vector<std::int8_t> keys_q_, values_q_;
    std::vector<float> key_scales_, value_scales_;
};

/// Symmetric int8 quantisation of n numbers: scale = max|x| / 127 and
/// \f$q_i = \mathrm{round}(x_i / scale)\f$, so \f$|q_i| \le 127\f$ and
/// \f$|q_i \cdot scale - x_i| \le scale / 2\f$. A row of zeros has scale 0. Throws
/// std::invalid_argument naming the number (`x[3] = NaN`) when one is NaN or infinite.
/// \return the scale
float quantize_row(const float* x, std::size_t n, std::int8_t* q);

}  // namespace attn
