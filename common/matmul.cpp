#include "common/matmul.hpp"

#include "common/errors.hpp"
#include "common/shape.hpp"

#include <xtensor-blas/xlinalg.hpp>  // cblas_sgemm and cblas_sgemv, through xflens
#include <xtensor/xbuilder.hpp>

#include <algorithm>
#include <string>

namespace attn {

namespace {

CBLAS_TRANSPOSE blas(Read r) {
    return r == Read::transposed ? CblasTrans : CblasNoTrans;
}

int i(std::size_t n) {
    return static_cast<int>(n);
}

}  // namespace

void gemm(std::size_t m, std::size_t n, std::size_t k, float alpha, const float* a, std::size_t lda,
          Read read_a, const float* b, std::size_t ldb, Read read_b, float beta, float* c,
          std::size_t ldc) {
    if (m == 0 || n == 0) return;
    if (k == 0) {  // an empty sum: BLAS would not touch C
        for (std::size_t r = 0; r < m; ++r)
            for (float* x = c + r * ldc; x != c + r * ldc + n; ++x)
                *x = beta == 0.0f ? 0.0f : beta * *x;
        return;
    }
    if (m == 1 && read_a == Read::as_stored) {
        // y = x op(B): B as stored [k, n] is read transposed by sgemv, B transposed
        // (stored [n, k]) as it is.
        const bool stored = read_b == Read::as_stored;
        if (beta == 0.0f) std::fill(c, c + n, 0.0f);  // sgemv scales y by beta: no old NaN stays
        cblas_sgemv(CblasRowMajor, stored ? CblasTrans : CblasNoTrans, i(stored ? k : n),
                    i(stored ? n : k), alpha, b, i(ldb), a, 1, beta, c, 1);
        return;
    }
    cblas_sgemm(CblasRowMajor, blas(read_a), blas(read_b), i(m), i(n), i(k), alpha, a, i(lda), b,
                i(ldb), beta, c, i(ldc));
}

Matrix matmul(const Matrix& a, const Matrix& b, Read read_a, Read read_b) {
    const bool ta = read_a == Read::transposed, tb = read_b == Read::transposed;
    const std::size_t m = ta ? a.shape(1) : a.shape(0), k = ta ? a.shape(0) : a.shape(1);
    const std::size_t n = tb ? b.shape(0) : b.shape(1);
    if ((tb ? b.shape(1) : b.shape(0)) != k) {
        invalid_argument("attn::matmul", std::string("a") + (ta ? "^T" : "") + " is " +
                                             std::to_string(m) + " x " + std::to_string(k) +
                                             " but b" + (tb ? "^T" : "") + " is " + shape_of(b) +
                                             (tb ? " transposed" : ""));
    }
    Matrix out = xt::zeros<float>({m, n});
    gemm(m, n, k, 1.0f, a.data(), a.shape(1), read_a, b.data(), b.shape(1), read_b, 0.0f,
         out.data(), n);
    return out;
}

}  // namespace attn
