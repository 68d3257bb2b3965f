/// \file
/// \brief How many threads OpenBLAS, the library behind the book's matrix products, uses.
#pragma once

namespace attn {

/// Makes OpenBLAS compute every later matrix product on one thread. The book's timings
/// use one thread, as its benchmarks do (`make bench` sets OPENBLAS_NUM_THREADS=1), so
/// that a number measures the code on one core and not how many cores the machine has.
/// Call it before the first timing.
void use_one_blas_thread();

}  // namespace attn
