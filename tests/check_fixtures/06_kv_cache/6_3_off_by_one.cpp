// answers: 6.3
// expect 6.3: failing: wraps off by one
// Counts positions from 1.
#include "exercises.hpp"

namespace attn::ex06 {

std::size_t ring_slot(std::size_t position, std::size_t window) {
    if (window == 0) invalid_argument("attn::ex06::ring_slot", "window must be at least 1, got 0");
    return (position + 1) % window;
}

}  // namespace attn::ex06
