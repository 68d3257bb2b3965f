/// \file
/// \brief Chapter 08: a weight matrix as PyTorch's `nn.Linear` and llama2.c's checkpoint
/// store it, `[out, in]`, and the product with it. The numbers are either owned or read in
/// place from a memory-mapped checkpoint: a model read from a checkpoint is never copied or
/// transposed.
#pragma once

#include "common/tensor.hpp"

#include <array>
#include <cstddef>
#include <memory>

namespace attn {

/// A weight matrix stored `[out, in]`: row o holds the weights of output o, the transpose of
/// the book's W `[in, out]`. Copies share the numbers (a tied classifier is the embedding
/// itself, not a second copy of it).
class LinearWeight {
public:
    /// An empty weight, shape `[0, 0]`.
    LinearWeight() = default;

    /// Points at out * in floats, row-major, kept alive by `owner` (the mapped file).
    LinearWeight(const float* data, std::size_t out, std::size_t in,
                 std::shared_ptr<const void> owner);

    /// Takes a matrix that is already `[out, in]`, e.g. an embedding `[vocab_size, dim]`.
    static LinearWeight from_out_in(Matrix w);

    /// The book's W `[in, out]`, stored transposed (a copy): x W equals
    /// linear(x, LinearWeight::from_in_out(W)).
    static LinearWeight from_in_out(const Matrix& w);

    /// `{out, in}`.
    std::array<std::size_t, 2> shape() const { return {out_, in_}; }
    /// Rows, one per output.
    std::size_t out() const { return out_; }
    /// Columns, one per input.
    std::size_t in() const { return in_; }
    /// The first number of row 0; row o starts at data() + o * in().
    const float* data() const { return data_; }
    /// A copy, `[out, in]` (for tests and printing).
    Matrix stored() const;

private:
    const float* data_ = nullptr;
    std::size_t out_ = 0;
    std::size_t in_ = 0;
    std::shared_ptr<const void> owner_;
};

/// \f$y = x W\f$ with W given as stored, `[out, in]`: \f$y_{t,o} = \sum_i x_{t,i}\,
/// W^{stored}_{o,i}\f$ (PyTorch's `F.linear(x, W)`): chapter 02's project(), the weight's
/// type saying how it is stored. One row goes to project_row(), the decode step's kernel;
/// more rows to one BLAS product. Throws std::invalid_argument naming `caller` and `name`
/// when x's width is not w.in().
/// \param x `[T, in]`
/// \param w `[out, in]`
/// \param caller the function named in an error
/// \param name the weight's name in an error
/// \return `[T, out]`
Matrix project(const Matrix& x, const LinearWeight& w, const char* caller = "attn::project",
               const char* name = "w");

/// project() for one row, with the decode step's kernel (decode_kernels.hpp's matvec(),
/// made for the speed of memory): \f$y = x W\f$, x `[w.in()]`, y `[w.out()]`. The caller
/// has checked the sizes; nothing is checked here.
void project_row(const float* x, const LinearWeight& w, float* y);

}  // namespace attn
