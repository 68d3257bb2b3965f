#include "common/blas_threads.hpp"

// OpenBLAS's own call; no header of the BLAS standard declares it.
extern "C" void openblas_set_num_threads(int threads);

namespace attn {

void use_one_blas_thread() {
    openblas_set_num_threads(1);
}

}  // namespace attn
