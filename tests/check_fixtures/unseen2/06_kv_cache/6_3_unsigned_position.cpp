// answers: 6.3
// expect 6.3: failing
// mistake: the position is stored in a 32-bit unsigned before the remainder, so positions of 2^32 and above wrap round and land in the wrong slot; right for every position below 2^32
// part: the position's type
#include "exercises.hpp"

namespace attn::ex06 {

std::size_t ring_slot(std::size_t position, std::size_t window) {
    if (window == 0)
        attn::invalid_argument("attn::ex06::ring_slot",
                               "window = 0: the ring needs at least one slot");
    const unsigned p = static_cast<unsigned>(position);
    return p % window;
}

}  // namespace attn::ex06
