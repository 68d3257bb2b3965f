/// \file
/// \brief Chapter 10: attention of one query over keys and values kept in blocks, read
/// through a block table, compiled for speed (chapter 07's flags).
#pragma once

#include <cstddef>
#include <cstdint>

namespace attn {

/// Where one key/value head's rows are in the pool: block b's rows start at
/// `keys + b * block_stride` (and the same for values), block_size rows of d numbers each.
struct PagedHead {
    const float* keys = nullptr;            ///< block 0's key rows (float32 pool)
    const float* values = nullptr;          ///< block 0's value rows
    const std::int8_t* keys_q = nullptr;    ///< block 0's key rows (int8 pool)
    const std::int8_t* values_q = nullptr;  ///< block 0's value rows (int8 pool)
    const float* key_scales = nullptr;      ///< block 0's key scales, one per row (int8 pool)
    const float* value_scales = nullptr;    ///< block 0's value scales
    std::size_t block_stride = 0;           ///< rows' numbers from one block to the next
    std::size_t scale_stride = 0;           ///< scales from one block to the next
    std::size_t block_size = 0;             ///< rows per block
    std::size_t d = 0;                      ///< numbers per row
};

/// Scores \f$K q / \sqrt{d}\f$ over positions 0..n-1, found block after block through
/// `table`, their softmax, and \f$\sum_t p_t v_t\f$ into `out` (`[d]`). `scores` holds n
/// numbers. Float32 rows when head.keys is set, int8 rows and their scales otherwise: a
/// score is then \f$s_t \sum_i q_i k_{ti}\f$ with the integers, and a value row is scaled
/// once per position.
void attend_paged(const float* q, const PagedHead& head, const std::size_t* table, std::size_t n,
                  float* out, float* scores);

/// \f$Y = X W^\top\f$ for a thin batch: y(b, o) is the dot product of row b of x with row o
/// of w, W as stored `[out, in]`. Four rows of W meet four rows of x at a time (16 sums in
/// vector registers), and the four rows of W then stay in the L1 cache while every other
/// group of four rows of x meets them: each number of W comes from memory once per call,
/// and nothing is copied first (a BLAS sgemm packs W into a buffer before multiplying, a
/// second pass over the weights that costs as much as the product when the batch is thin).
/// \param w `[out, in]`
/// \param x `[batch, in]`
/// \param batch rows of x
/// \param out rows of w
/// \param in columns of w and x
/// \param y `[batch, out]`, the result
void matmul_thin(const float* w, const float* x, std::size_t batch, std::size_t out, std::size_t in,
                 float* y);

}  // namespace attn
