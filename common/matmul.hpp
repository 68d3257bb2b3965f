/// \file
/// \brief The matrix product, and the one place the book calls BLAS.
///
/// Every product of the book goes through gemm(): chapter 02's \f$x W\f$, chapter 07's
/// tiles, chapter 08's weights as a checkpoint stores them, chapter 09's backward passes.
/// A matrix is read as it is stored or as its transpose; the transpose is the order in which
/// BLAS reads the stored numbers, never a copy.
#pragma once

#include "common/tensor.hpp"

#include <cstddef>

namespace attn {

/// How a product reads a matrix.
enum class Read {
    as_stored,   ///< row i of the operand is row i as stored
    transposed,  ///< row i of the operand is column i as stored
};

/// \f$C = \alpha\,\mathrm{op}(A)\,\mathrm{op}(B) + \beta C\f$ on row-major arrays, where
/// \f$\mathrm{op}(A)\f$ is `[m, k]`, \f$\mathrm{op}(B)\f$ `[k, n]` and C `[m, n]`;
/// `lda`, `ldb` and `ldc` are the lengths of the rows as stored (a tile of a larger matrix
/// passes the larger matrix's width). One row (m = 1, A as stored) is a matrix-vector
/// product, which BLAS does at the speed of reading B. Sizes of 0 are allowed: C is then
/// scaled by \f$\beta\f$ (k = 0) or empty. The caller has checked the shapes.
void gemm(std::size_t m, std::size_t n, std::size_t k, float alpha, const float* a, std::size_t lda,
          Read read_a, const float* b, std::size_t ldb, Read read_b, float beta, float* c,
          std::size_t ldc);

/// \f$\mathrm{op}(a)\,\mathrm{op}(b)\f$, e.g. `matmul(dy, w, Read::as_stored,
/// Read::transposed)` for \f$dy\,W^\top\f$. Throws std::invalid_argument naming attn::matmul
/// when the inner sizes differ. \return `[m, n]`; zeros when the inner size is 0
Matrix matmul(const Matrix& a, const Matrix& b, Read read_a = Read::as_stored,
              Read read_b = Read::as_stored);

}  // namespace attn
