// answers: 6.3
// expect 6.3: failing
// mistake: the window is subtracted only once (position - window when position >= window) instead of taking the remainder, so positions from 2 * window on get a slot past the end
// part: wrap-around: subtraction instead of modulo
#include "exercises.hpp"

namespace attn::ex06 {

std::size_t ring_slot(std::size_t position, std::size_t window) {
    if (window == 0) invalid_argument("attn::ex06::ring_slot", "window must be at least 1, got 0");
    if (position < window) return position;
    return position - window;  // overwrite the one that just left the window
}

}  // namespace attn::ex06
