/// \file
/// \brief Chapter 08: the two loops of a decode step, compiled for speed. One new token is
/// a row vector, so every weight matrix is used in a matrix-vector product, and its query
/// meets the cached keys and values of one head.
#pragma once

#include <cstddef>

namespace attn {

/// \f$y = x W\f$ for one row: x `[in]`, W `[in, out]` row-major, y `[out]`. y accumulates
/// \f$x_i\f$ times row i of W, twelve rows per pass, so W is read once, from its first
/// number to its last: at the speed of memory, which is what bounds a decode step.
void matvec(const float* x, const float* w, std::size_t in, std::size_t out, float* y);

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
