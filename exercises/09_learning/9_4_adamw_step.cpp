// Exercise 9.4: your answer. The task is in exercises.hpp; check it with `make check CH=09`.
// To start over: git checkout -- exercises/09_learning/9_4_adamw_step.cpp
#include "exercises.hpp"

namespace attn::ex09 {

void adamw_step(std::vector<float>& weights, const std::vector<float>& grads, AdamState& state,
                float learning_rate, bool decays, const AdamSettings& settings) {
    throw attn::not_implemented("9.4");
}

}  // namespace attn::ex09
