// answers: 1.2
// expect 1.2: does not compile: 1_2_syntax_error.cpp:13:
// expect 1.1: passing
// expect 1.3: failing: calls your 1.2 (stable_softmax), which does not compile
// expect 1.4: failing: calls your 1.2
// A missing semicolon: the chapter's other exercises are still checked.
#include "exercises.hpp"

namespace attn::ex01 {

Vector stable_softmax(const Vector& logits) {
    Vector e = xt::exp(logits - xt::amax(logits)());
    return e / xt::sum(e)()
}

}  // namespace attn::ex01
