/// \file
/// \brief Chapter 10 exercises: a paged KV cache's bookkeeping, copy on write, int8 rows,
/// attention read through a block table and a scheduler's admission rule, written by you.
///
/// Each task below is one exercise (10.2 and 10.4 ask for two functions, declared one after
/// the other); its comment is the task. Your answer goes in the `.cpp` file named after the
/// exercise in this folder. Check with `make check CH=10`.
///
/// A sequence's positions live in blocks of block_size positions taken from one pool; its
/// block table lists its blocks in order, so position p is row p % block_size of block
/// block_table[p / block_size]. The exercises work on one key/value head: its storage is a
/// `[n_blocks, block_size, d]` tensor, `storage(b, r, i)` number i of row r of block b.
///
/// You may use chapters 01 to 09, e.g. attn::softmax() (chapter 01, included here),
/// check_shape() and invalid_argument() (`common/shape.hpp`). Chapter 10's own functions
/// are what you are writing: the tests compare your answers with computations of their own.
///
/// Every function first checks its arguments and throws std::invalid_argument whose message
/// names the function and shows what is wrong: a shape as `[0, 6]` (attn::check_shape()
/// writes the whole message) and a number as `name = value`, e.g. `block_size = 0`.
#pragma once

#include "chapters/01_single_head_attention/single_head_attention.hpp"
#include "common/errors.hpp"
#include "common/shape.hpp"
#include "common/tensor.hpp"

#include <cstddef>
#include <cstdint>
#include <stdexcept>
#include <vector>

/// Chapter 10 exercises.
namespace attn::ex10 {

/// Where a position lives (exercise 10.1): a block of the pool and a row inside it.
struct BlockSlot {
    std::size_t block = 0;   ///< the block of the pool: an entry of the block table
    std::size_t offset = 0;  ///< the row inside that block, 0..block_size-1
};

/// \brief Exercise 10.1: the block and row of a position.
///
/// block_table[i] is the block of the pool that holds the sequence's positions
/// i * block_size .. (i + 1) * block_size - 1. Return where position p is: block
/// block_table[p / block_size], row p % block_size of it.
///
/// \param position the position in the sequence, from 0
/// \param block_size positions per block, at least 1
/// \param block_table the sequence's blocks, in order
/// \return the block of the pool (not the index into the table) and the row inside it
///
/// Throws std::invalid_argument naming block_slot when block_size is 0 (`block_size = 0`), or
/// when the table does not reach the position: it covers covered = block_table.size() *
/// block_size positions, 0..covered-1, so position = covered is already outside. Say the
/// position (`position = 6`) and how many positions the table covers.
///
/// Example: block_size 4, table `{7, 2, 9}`: position 0 is row 0 of block 7, position 5 row 1
/// of block 2, position 11 row 3 of block 9; position 12 is refused (the table covers 12).
///
/// Hint: the position divided by block_size says which entry of the table, the remainder which row;
/// return the block that entry names, not the entry's index. Not / and % swapped, and divide by
/// block_size, not by the table's size. A table of n blocks covers positions up to n times
/// block_size, excluded: that position is already outside. Refuse block_size 0 first.
///
/// Second hint: with b = block_size: \f$i = \lfloor p / b \rfloor\f$ and \f$r = p \bmod b\f$;
/// refuse when i is not below the table's size; the answer is block block_table[i], offset r.
// answered in the library by: chapters/10_serving/paged_cache.cpp block_slot
BlockSlot block_slot(std::size_t position, std::size_t block_size,
                     const std::vector<std::size_t>& block_table);

/// The pool's bookkeeping (exercises 10.2 and 10.3): which blocks are free and how many
/// sequences own each block. A fork shares its parent's blocks (their owners go up by one)
/// instead of copying them.
struct BlockPool {
    std::vector<std::size_t> free;    ///< the free blocks, a stack: the back is taken first
    std::vector<std::size_t> owners;  ///< per block, how many sequences use it (0: free)
};

/// \brief Exercise 10.2: allocate and release blocks.
///
/// Two functions. allocate_block() takes the block at the back of the free list (a stack:
/// the block freed last is reused first), gives it one owner and returns it.
/// `void release_block(BlockPool& pool, std::size_t block)`, declared below it, takes one
/// owner away from a block; the block is free again, pushed on the back of the free list,
/// when no owner is left. A block shared by two sequences stays in use when one of them
/// releases it.
///
/// \param pool the pool, changed in place
/// \return allocate_block(): the block, now with owners 1
///
/// allocate_block() throws std::runtime_error naming allocate_block when no block is free,
/// saying how many blocks the pool has (not std::invalid_argument: the arguments are right,
/// the pool is out of memory; a server catches it and frees blocks). release_block() throws
/// std::invalid_argument naming release_block when the block does not exist (say it as
/// `block = 9` and the pool's number of blocks) or is already free (owners 0: freed twice;
/// say `block = 2` and that it is free). A call that throws changes nothing in the pool.
///
/// Example: a pool of 4 blocks, free `{3, 2, 1, 0}`, owners `{0, 0, 0, 0}`: allocating twice
/// gives 0 then 1, leaving free `{3, 2}`, owners `{1, 1, 0, 0}`. After a fork shares block 1
/// (owners `{1, 2, 0, 0}`), releasing block 1 leaves owners `{1, 1, 0, 0}` and the free list
/// as it was; releasing block 0 then makes free `{3, 2, 0}`, and the next allocation gives 0.
///
/// Hint: the free list is a stack: allocate takes its back (not the front, not the lowest free
/// block), removes it and gives the block one owner. Release takes one owner away; only at 0 owners
/// does the block go back on the free list (a fork may still use it). Refuse before changing
/// anything: no free block is a std::runtime_error; a block out of range or already free is refused
/// before its count goes down (0 - 1 would wrap round).
///
/// Second hint: allocate: b = the back of `pool.free`, removed from it, with
/// \f$\mathrm{owners}_b = 1\f$. release: \f$\mathrm{owners}_b \leftarrow \mathrm{owners}_b - 1\f$,
/// and when that reaches 0, b is pushed on the back of `pool.free`.
// answered in the library by: chapters/10_serving/paged_cache.cpp BlockAllocator::allocate BlockAllocator::release
std::size_t allocate_block(BlockPool& pool);

/// Exercise 10.2's second function: see its task above.
void release_block(BlockPool& pool, std::size_t block);

/// \brief Exercise 10.3: copy on write.
///
/// A sequence holds `length` positions and is about to write position `length`. Make the
/// block that position goes in its own:
///
/// - When length % block_size is 0 (its blocks are full, or it has none), take a new block
///   from the pool (as allocate_block() does) and push it on the back of the table.
/// - Else, when the table's last block has owners above 1 (a fork shares it), take a new
///   block, copy into it the old block's rows that hold positions (its first
///   length % block_size rows; copying the whole block is fine too, the rows after them hold
///   nothing of this sequence), release this sequence's ownership of the old block (its
///   owners go down by 1; another sequence still owns it, so it is not freed) and put the new
///   block in the table's last entry. The old block's rows stay as they are: the other
///   sequence reads them.
/// - Else the last block is this sequence's alone: change nothing.
/// .
///
/// \param pool the pool, changed in place
/// \param storage `[n_blocks, block_size, d]`, one head's rows; block_size is its second size
/// \param block_table the sequence's blocks, changed in place
/// \param length the positions the sequence holds
///
/// Throws std::invalid_argument naming make_last_block_writable when storage is not
/// `[n_blocks, block_size, d]` with n_blocks = pool.owners.size() (show its shape), when the
/// table does not hold exactly the blocks of length positions, ceil(length / block_size) of
/// them (say `length = 5` and the table's size), or when an entry of the table is not a block
/// of the pool (say its value). When a new block is needed and none is free it throws
/// std::runtime_error (allocate_block()'s error does) and changes nothing: not the pool, not
/// the storage, not the table.
///
/// Example: block_size 3, a sequence of 5 positions in blocks `{0, 1}`, forked: owners
/// `{2, 2, 0, 0}`, free `{3, 2}`. The fork writes position 5: block 2 is taken, rows 0 and 1
/// of block 1 are copied into rows 0 and 1 of block 2, owners become `{2, 1, 1, 0}`, free
/// `{3}`, and the fork's table `{0, 2}`. The parent writing position 5 next finds block 1
/// its own (owners 1): nothing to do.
///
/// Hint: three cases, by the row of the new position, length mod block_size (storage's second
/// size): row 0 (its blocks are full, or it has none) pushes a new block on the table; a last block
/// with owners above 1 has its used rows copied from it into a new block, which replaces it in the
/// table's last entry; else nothing. Check everything, allocate before changing anything (a refusal
/// then changes nothing), and release the shared block after the copy: one owner less, the fork
/// keeps it.
///
/// Second hint: b = block_size, o = length mod b, L the table's last entry. o = 0: a new block f on
/// the back of the table. Else, if \f$\mathrm{owners}_L > 1\f$: a new block f,
/// \f$\mathrm{storage}_{f,r,:} = \mathrm{storage}_{L,r,:}\f$ for \f$r < o\f$, L released, and f in
/// the last entry. The table holds \f$\lceil \mathrm{length} / b \rceil\f$ entries, each below
/// n_blocks.
// answered in the library by: chapters/10_serving/paged_cache.cpp BlockTables::append_position PagedKVCache::append_position
void make_last_block_writable(BlockPool& pool, Tensor3& storage,
                              std::vector<std::size_t>& block_table, std::size_t length);

/// One row stored as int8 numbers and a scale (exercise 10.4): x_i is about
/// values[i] * scale.
struct QuantizedRow {
    std::vector<std::int8_t> values;  ///< `[d]`, each in -127..127
    float scale = 0.0f;               ///< max_i |x_i| / 127; 0 for a row of zeros
};

/// \brief Exercise 10.4: a row in int8.
///
/// Two functions. quantize_int8() stores a row with one byte a number: symmetric
/// quantisation with scale = max_i |x_i| / 127 and values_i = round(x_i / scale), rounding
/// half away from zero (std::round: 2.5 gives 3, -2.5 gives -3), so every value is in
/// -127..127 and the largest |x_i| becomes ±127. A row of zeros has scale 0 and values 0
/// (no division by 0). `Vector dequantize_int8(const QuantizedRow& q)`, declared below it,
/// turns it back: values_i * scale, within scale / 2 of x_i.
///
/// \param x `[d]`, finite numbers
/// \return quantize_int8(): the values and the scale; dequantize_int8(): `[d]`
///
/// quantize_int8() throws std::invalid_argument naming quantize_int8 when x is empty (shape
/// `[0]`) or a number is NaN or infinite (say its index, e.g. `x[7] = nan`).
/// dequantize_int8() throws std::invalid_argument naming dequantize_int8 when the scale is
/// negative or not finite (`scale = -1`).
///
/// Example: x = `{127, 2.5, -2.5, 0.5, -0.4, 3.7, -3.7}`: scale 127 / 127 = 1, values
/// `{127, 3, -3, 1, 0, 4, -4}`. x = `{-1, -0.5}`: scale 1 / 127 (from |x|: the largest x
/// is -0.5), values `{-127, -64}` (-63.5 rounds to -64), and back
/// `{-1, -0.50394}`, within 1 / 254 of x.
///
/// Hint: the scale comes from the largest magnitude, of |x|, not of x (a row whose largest
/// magnitude is negative must still reach -127), over 127, not 128: int8 stops at 127 and 128 wraps
/// to -128. A row of zeros: scale 0, values 0, no division. std::round (a cast truncates), clamped
/// to -127..127, then std::int8_t. Check each number (std::isfinite) first; dequantize checks the
/// scale.
///
/// Second hint: \f$s = \max_i |x_i| / 127\f$;
/// \f$q_i = \mathrm{clamp}(\mathrm{round}(x_i / s), -127, 127)\f$ when \f$s > 0\f$, else
/// \f$q_i = 0\f$. Back: \f$\tilde{x}_i = q_i\, s\f$, once s is known to be finite and at least 0.
// answered in the library by: chapters/10_serving/paged_cache.cpp quantize_row Int8Storage::write Int8Storage::read
QuantizedRow quantize_int8(const Vector& x);

/// Exercise 10.4's second function: see its task above.
Vector dequantize_int8(const QuantizedRow& q);

/// \brief Exercise 10.5: attention through a block table.
///
/// One query attends to a sequence's positions 0..length-1, whose keys and values live in
/// blocks of the pool, found through the block table as in 10.1:
/// \f$\mathrm{softmax}_t(q \cdot k_t / \sqrt{d})\f$, then \f$\sum_t p_t v_t\f$. Only the
/// first `length` positions count: the rest of the last block, and every block not in the
/// table, hold other sequences' rows or nothing.
///
/// \param query `[d]`
/// \param keys `[n_blocks, block_size, d]`, one head's keys
/// \param values `[n_blocks, block_size, d]`, its values
/// \param block_table the sequence's blocks, in order
/// \param length the positions to attend to, at least 1
/// \return `[d]`
///
/// Throws std::invalid_argument naming attend_paged when keys is empty, query is not `[d]`,
/// values' shape is not keys' (show the shape), length is 0 (`length = 0`), the table does
/// not cover length positions (`length = 7` and the positions it covers), or an entry of the
/// table, any entry (those past length too), is not a block of the pool (say its value).
///
/// Example: block_size 2, table `{2, 0}`: positions 0 and 1 are rows 0 and 1 of block 2,
/// position 2 is row 0 of block 0. With their keys `{1, 0}`, `{0, 1}`, `{1, 1}`, values
/// `{1, 0}`, `{0, 1}`, `{2, 2}`, length 3 and query `{0, 2}`: weights softmax(`{0, 1.414,
/// 1.414}`) = `{0.108, 0.446, 0.446}`, output `{1, 1.337}`, whatever row 1 of block 0 and
/// block 1 hold.
///
/// Hint: gather first: copy the sequence's first `length` key and value rows, in position order,
/// into two ordinary `[length, d]` matrices, each row found through the table with your
/// block_slot() (10.1); then it is attn::attend() and its `.output`. Only length positions: not the
/// rest of the last block, nor other blocks. Check every table entry, those past length too, first.
///
/// Second hint: for \f$t = 0 \ldots \mathrm{length} - 1\f$, with (block, row) the slot of t:
/// \f$K_{t,:} = \mathrm{keys}_{\mathrm{block},\mathrm{row},:}\f$ and the same for V (`xt::view`
/// with two indices and `xt::all()`, assigned to `xt::row`); then
/// \f$w = \mathrm{softmax}(K q / \sqrt{d})\f$ and the output \f$\sum_t w_t\, V_{t,:}\f$.
// answered in the library by: chapters/10_serving/paged_kernels.cpp attend_paged
Vector attend_paged(const Vector& query, const Tensor3& keys, const Tensor3& values,
                    const std::vector<std::size_t>& block_table, std::size_t length);

/// \brief Exercise 10.6: which waiting requests a step admits.
///
/// A server's scheduler, each step, after it has made room for the running sequences'
/// growth, admits waiting requests first come, first served, while their blocks fit with a
/// watermark: one block kept spare for every sequence running, so that the next steps'
/// growth rarely has to evict. The i-th request of the queue (from 0, the queue's head) is
/// admitted when
///
///     growth + needs[0] + ... + needs[i] + (running + i) <= free_blocks
///
/// that is: the blocks the running sequences' growth takes this step, the blocks of every
/// request admitted before it in this step and its own, and one spare block for each
/// sequence running before it: the `running` ones and the i admitted before it in this
/// step (not itself). The first request that does not fit waits, and so does every request
/// behind it, even one that would fit (first come, first served: a large request is not
/// starved by small ones that keep overtaking it). Return how many are admitted, counted
/// from the head.
///
/// \param needs blocks each waiting request needs, the queue's head first
/// \param free_blocks the pool's free blocks
/// \param growth blocks the running sequences' next positions take this step
/// \param running sequences running before this step admits any
/// \return how many requests are admitted: 0..needs.size(), from the head
///
/// Throws std::invalid_argument naming admissions when a need is 0 (say which, e.g.
/// `needs[2] = 0`: every request holds at least one block) or growth is more than
/// free_blocks (say `growth = 5` and the free blocks: the scheduler must make room first).
///
/// Example: needs `{2, 3, 1}`, free_blocks 8, growth 1, running 1. Request 0: 1 + 2 + 1 = 4
/// <= 8, admitted. Request 1: 1 + 2 + 3 + (1 + 1) = 8 <= 8, admitted. Request 2:
/// 1 + 2 + 3 + 1 + (1 + 2) = 10 > 8: it waits. The answer is 2.
///
/// Hint: walk the queue from its head with a running total that starts at growth; for each request
/// add its need, and compare the total plus one block per sequence running at that moment (running,
/// plus the requests admitted so far, not this one) with free_blocks, <= not <. At the first that
/// does not fit, stop (not skip it and go on). Refuse a need of 0 and growth above free_blocks
/// before anything else.
///
/// Second hint: with \f$S_i = \mathrm{needs}_0 + \ldots + \mathrm{needs}_i\f$, the answer
/// is the largest k such that
/// \f$\mathrm{growth} + S_i + \mathrm{running} + i \le \mathrm{free\_blocks}\f$ for every
/// \f$i < k\f$.
// answered in the library by: chapters/10_serving/scheduler.cpp admissions
std::size_t admissions(const std::vector<std::size_t>& needs, std::size_t free_blocks,
                       std::size_t growth, std::size_t running);

}  // namespace attn::ex10
