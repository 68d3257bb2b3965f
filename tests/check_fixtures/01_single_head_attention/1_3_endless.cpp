// answers: 1.3
// expect 1.3: failing: did not finish within
// expect 1.4: passing
// An endless loop: reported as such, and the other exercises are still checked.
#include "exercises.hpp"

namespace attn::ex01 {

Vector attend(const Vector&, const Matrix&, const Matrix&) {
    volatile bool forever = true;
    while (forever) {
    }
    return {};
}

}  // namespace attn::ex01
