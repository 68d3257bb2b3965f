// Exercise 3.4: your answer. The task is in exercises.hpp; check it with `make check CH=03`.
// To start over: git checkout -- exercises/03_causal_masking/3_4_padded_causal_masks.cpp
#include "exercises.hpp"

namespace attn::ex03 {

BatchMask padded_causal_masks(const std::vector<std::size_t>& lengths, std::size_t T) {
    throw attn::not_implemented("3.4");
}

}  // namespace attn::ex03
