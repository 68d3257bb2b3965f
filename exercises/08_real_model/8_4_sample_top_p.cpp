// Exercise 8.4: your answer. The task is in exercises.hpp; check it with `make check CH=08`.
// To start over: git checkout -- exercises/08_real_model/8_4_sample_top_p.cpp
#include "exercises.hpp"

namespace attn::ex08 {

std::size_t sample_top_p(const Vector& logits, float temperature, float top_p, float coin) {
    throw attn::not_implemented("8.4");
}

}  // namespace attn::ex08
