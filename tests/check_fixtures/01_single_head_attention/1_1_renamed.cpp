// answers: 1.1
// expect 1.1: does not compile: defines no function with the declared signature
// expect 1.3: failing: calls your 1.1
// A parameter type changed: this defines another function, and the declared one is missing.
#include "exercises.hpp"

namespace attn::ex01 {

Vector dot_scores(const Vector& query, Matrix keys) {
    return xt::zeros<float>({keys.shape(0) + query.size()});
}

}  // namespace attn::ex01
