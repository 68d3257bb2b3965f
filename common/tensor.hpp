/// \file
/// \brief The tensor types every chapter uses.
///
/// All numbers in the book are 32-bit floats, as in most transformer code. Shapes use the
/// paper's names: `T` tokens, `d_model` the embedding width, `d_k` the query/key width,
/// `d_v` the value width.
#pragma once

#include <xtensor/xtensor.hpp>

#include <string>
#include <vector>

namespace attn {

/// A vector, e.g. one query `[d_k]` or one row of attention weights `[T]`.
using Vector = xt::xtensor<float, 1>;
/// A matrix, e.g. the keys of a sequence `[T, d_k]` or attention weights `[T_q, T_k]`.
using Matrix = xt::xtensor<float, 2>;
/// A rank-3 tensor, e.g. one matrix per head `[n_heads, T, d_head]`.
using Tensor3 = xt::xtensor<float, 3>;
/// Which keys each query may attend to: `[T_q, T_k]`, true where query i may see key j.
using Mask = xt::xtensor<bool, 2>;
/// One Mask per sequence of a batch: `[B, T_q, T_k]`.
using BatchMask = xt::xtensor<bool, 3>;
/// The words of a sequence, used to label rows and columns of printed matrices and heatmaps.
using Tokens = std::vector<std::string>;

}  // namespace attn
