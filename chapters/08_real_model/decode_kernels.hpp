/// \file
/// \brief Chapter 08: the two loops of a decode step, compiled for speed. One new token is
/// a row vector, so every weight matrix is used in a matrix-vector product, and its query
/// meets the cached keys and values of one head.
#pragma once

#include <cstddef>

namespace attn {

/// \f$y = x W\f$ for one row, W as stored, `[out, in]` row-major: \f$y_o\f$ is the dot
/// product of row o with x. W is read once, row after row, as one stream from its first
/// number to its last: at the speed of memory, which is what bounds a decode step.
/// \param w `[out, in]`
/// \param x `[in]`
/// \param out rows of w
/// \param in columns of w
/// \param y `[out]`, the result
void matvec(const float* w, const float* x, std::size_t out, std::size_t in, float* y);

/// Attention of one query over the first n rows of a cached key/value head, read in place:
/// scores \f$K q / \sqrt{d}\f$, their softmax, and \f$\sum_t p_t v_t\f$.
/// \param q `[d]`
/// \param keys `[n, d]` row-major
/// \param values `[n, d]` row-major
/// \param n how many positions are cached
/// \param d the head size
/// \param out `[d]`, the result
/// \param scores room for n numbers
void attend_one(const float* q, const float* keys, const float* values, std::size_t n,
                std::size_t d, float* out, float* scores);

}  // namespace attn
