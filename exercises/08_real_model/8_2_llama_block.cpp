// Exercise 8.2: your answer. The task is in exercises.hpp; check it with `make check CH=08`.
// To start over: git checkout -- exercises/08_real_model/8_2_llama_block.cpp
#include "exercises.hpp"

namespace attn::ex08 {

Matrix llama_block(const Matrix& x, const Vector& attention_norm, const MultiHeadWeights& attention,
                   const Vector& ffn_norm, const SwiGLUWeights& ffn) {
    throw attn::not_implemented("8.2");
}

}  // namespace attn::ex08
