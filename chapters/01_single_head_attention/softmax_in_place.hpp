/// \file
/// \brief Chapter 01's softmax on a row of floats, declared on its own: a file compiled with
/// other flags (chapter 08's decode kernels) can use it without including xtensor.
#pragma once

#include <cstddef>

namespace attn {

/// The stable softmax of `n` floats at `x`, in place: the one loop behind softmax(),
/// softmax_rows() and every later chapter's softmax over a row of scores. A row holding a
/// NaN becomes all NaN; a row of -inf only (every key masked) becomes all zeros.
void softmax_in_place(float* x, std::size_t n);

}  // namespace attn
