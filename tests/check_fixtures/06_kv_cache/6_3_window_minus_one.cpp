// answers: 6.3
// expect 6.3: failing: the ring has window - 1 slots
// One slot too few.
#include "exercises.hpp"

namespace attn::ex06 {

std::size_t ring_slot(std::size_t position, std::size_t window) {
    if (window == 0) invalid_argument("attn::ex06::ring_slot", "window must be at least 1, got 0");
    return window == 1 ? 0 : position % (window - 1);
}

}  // namespace attn::ex06
