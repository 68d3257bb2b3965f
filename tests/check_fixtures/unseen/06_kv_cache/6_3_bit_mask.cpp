// answers: 6.3
// expect 6.3: failing
// mistake: the slot is position & (window - 1), a bit mask that equals position % window only when window is a power of two
// part: modulo by bit mask
#include "exercises.hpp"

namespace attn::ex06 {

std::size_t ring_slot(std::size_t position, std::size_t window) {
    if (window == 0) invalid_argument("attn::ex06::ring_slot", "window must be at least 1, got 0");
    return position & (window - 1);  // fast modulo
}

}  // namespace attn::ex06
