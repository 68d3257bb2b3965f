// answers: 6.3
// expect 6.3: failing
// mistake: the remainder is computed as position & (window - 1), a bit-mask trick that equals position mod window only when window is a power of two; other windows (3, 5, 6, ...) give wrong slots.
// part: the modulo
#include "exercises.hpp"

namespace attn::ex06 {

std::size_t ring_slot(std::size_t position, std::size_t window) {
    if (window == 0) invalid_argument("attn::ex06::ring_slot", "window = 0: there must be a slot");
    return position & (window - 1);  // fast modulo
}

}  // namespace attn::ex06
