// Gradients checked without PyTorch: the loss whose gradient a backward pass computes, and
// the central difference of a loss for every element of a matrix. Chapter 09's tests use
// them for every backward piece, the GPT's and the Llama's.
#pragma once

#include "common/tensor.hpp"

#include <cstddef>
#include <functional>

namespace attn::test {

/// sum(y * dy): the loss whose gradient with respect to x is a backward pass's dx, given dy.
inline double loss_of(const Matrix& y, const Matrix& dy) {
    double sum = 0.0;
    for (std::size_t i = 0; i < y.size(); ++i)
        sum += static_cast<double>(y.data()[i]) * dy.data()[i];
    return sum;
}

/// The central difference (L(x + h e_i) - L(x - h e_i)) / 2h for every element of x.
inline Matrix finite_difference(const Matrix& x, const std::function<double(const Matrix&)>& loss,
                                float h = 1e-2f) {
    Matrix g = xt::zeros<float>(x.shape());
    for (std::size_t i = 0; i < x.size(); ++i) {
        Matrix plus = x, minus = x;
        plus.data()[i] += h;
        minus.data()[i] -= h;
        g.data()[i] = static_cast<float>((loss(plus) - loss(minus)) / (2.0 * h));
    }
    return g;
}

}  // namespace attn::test
