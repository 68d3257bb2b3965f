// Exercise 7.2: your answer. The task is in exercises.hpp; check it with `make check CH=07`.
// To start over: git checkout -- exercises/07_fast_attention/7_2_merge_states.cpp
#include "exercises.hpp"

namespace attn::ex07 {

SoftmaxState merge_states(const SoftmaxState& a, const SoftmaxState& b) {
    throw attn::not_implemented("7.2");
}

}  // namespace attn::ex07
