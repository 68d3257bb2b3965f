// answers: 1.1
// expect 1.1: failing: something broke
// An answer that throws its own exception.
#include "exercises.hpp"

namespace attn::ex01 {

Vector dot_scores(const Vector&, const Matrix&) {
    throw std::runtime_error("something broke");
}

}  // namespace attn::ex01
