/// \file
/// \brief Chapter 10: attention of one query over keys and values kept in blocks, read
/// through a block table, compiled for speed (chapter 07's flags).
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace attn {

/// Where one key/value head's rows are in a pool of blocks, counted in rows of d numbers:
/// block b's rows begin `b * block_stride` rows after block 0's, block_size rows of d
/// numbers each. The layout is the same whatever a number is stored as.
struct PagedLayout {
    std::size_t block_stride = 0;  ///< rows from one block's first row to the next block's
    std::size_t block_size = 0;    ///< rows per block
    std::size_t d = 0;             ///< numbers per row
    std::size_t n_blocks = 0;      ///< blocks in the pool: a table entry is below it
};

/// One key/value head whose rows are float32: row r of block 0 is `keys + r * d`.
struct Float32Head {
    const float* keys = nullptr;    ///< block 0's key rows
    const float* values = nullptr;  ///< block 0's value rows
    PagedLayout layout;             ///< where the other blocks are
};

/// One key/value head whose rows are int8 numbers with one float scale each: number i of
/// row r is about `keys[r * d + i] * key_scales[r]`.
struct Int8Head {
    const std::int8_t* keys = nullptr;    ///< block 0's key rows
    const std::int8_t* values = nullptr;  ///< block 0's value rows
    const float* key_scales = nullptr;    ///< block 0's key scales, one per row
    const float* value_scales = nullptr;  ///< block 0's value scales
    PagedLayout layout;                   ///< where the other blocks are
};

/// Scores \f$K q / \sqrt{d}\f$ over positions 0..n-1, found block after block through
/// `table`, their softmax, and \f$\sum_t p_t v_t\f$ into `out` (`[d]`). `scores` holds n
/// numbers. Throws std::invalid_argument naming attn::attend_paged, before reading any row,
/// when the layout's block_size is 0 or an entry of `table` that positions 0..n-1 use is not
/// below its n_blocks (check_block_table()).
/// \param q `[d]`, the query \param head the head's rows \param table the sequence's blocks
/// \param n positions \param out `[d]` \param scores room for n numbers
void attend_paged(const float* q, const Float32Head& head, const std::size_t* table, std::size_t n,
                  float* out, float* scores);

/// The same over int8 rows: a score is \f$s_t \sum_i q_i k_{ti}\f$ with the integers and
/// the row's scale \f$s_t\f$, and a value row is scaled once per position.
/// \param q `[d]`, the query \param head the head's rows \param table the sequence's blocks
/// \param n positions \param out `[d]` \param scores room for n numbers
void attend_paged(const float* q, const Int8Head& head, const std::size_t* table, std::size_t n,
                  float* out, float* scores);

/// A weight matrix repacked once for matmul_packed(): panels of 16 rows of W `[out, in]`;
/// panel p holds, for each input i, the 16 numbers \f$W_{16p..16p+15,\,i}\f$ side by side
/// (zeros past the last row). A BLAS sgemm makes this copy inside every call; a decoder
/// multiplies the same weights at every step, so it makes the copy once.
struct PackedWeight {
    std::vector<float> panels;  ///< `[ceil(out / 16), in, 16]`
    std::size_t out = 0;        ///< rows of W
    std::size_t in = 0;         ///< columns of W
};

/// Packs W as stored, `[out, in]` row-major.
PackedWeight pack_weight(const float* w, std::size_t out, std::size_t in);

/// \f$Y = X W^\top\f$ for a thin batch: y(b, o) is the dot product of row b of x with row o
/// of W. A pass holds a block of outputs against a block of rows of x in vector registers:
/// with AVX-512, 32 outputs (two panels) by up to 12 rows, 24 of the 32 zmm registers; with
/// AVX2 only, 16 outputs by up to 6 rows, 12 of the 16 ymm registers. Each number of W is
/// loaded once for all the rows of the pass and each number of x is broadcast to 16
/// outputs. The rows are split into passes of equal size (16 rows are two passes of 8, not
/// 12 and a thin 4), and the panels stay in cache between the passes: every number of W
/// comes from memory once per call. One row (B = 1) uses single panels, which measured
/// faster for it.
/// \param w the packed weight
/// \param x `[batch, w.in]`
/// \param batch rows of x
/// \param y `[batch, w.out]`, the result
void matmul_packed(const PackedWeight& w, const float* x, std::size_t batch, float* y);

/// The sum of n floats, read once from first to last with several sums in vector registers:
/// how fast this machine reads memory (measure_machine()).
float sum_floats(const float* x, std::size_t n);

}  // namespace attn
