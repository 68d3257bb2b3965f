// answers: 10.6
// expect 10.6: failing
// mistake: growth is refused when it is at least free_blocks (>=) instead of more than it, so growth equal to free_blocks, e.g. needs {1}, free_blocks 4, growth 4, running 0, throws instead of returning 0.
// part: the refusal of growth more than free_blocks
#include "exercises.hpp"

#include <string>

namespace attn::ex10 {

std::size_t admissions(const std::vector<std::size_t>& needs, std::size_t free_blocks,
                       std::size_t growth, std::size_t running) {
    for (std::size_t i = 0; i < needs.size(); ++i) {
        if (needs[i] == 0) {
            invalid_argument(
                "attn::ex10::admissions",
                "needs[" + std::to_string(i) + "] = 0: every request holds at least one block");
        }
    }
    if (growth >= free_blocks) {
        invalid_argument("attn::ex10::admissions",
                         "growth = " + std::to_string(growth) + " but only " +
                             std::to_string(free_blocks) +
                             " free blocks: the scheduler must make room first");
    }
    std::size_t total = growth;
    std::size_t admitted = 0;
    for (std::size_t i = 0; i < needs.size(); ++i) {
        total += needs[i];
        if (total + running + i > free_blocks) {
            break;
        }
        ++admitted;
    }
    return admitted;
}

}  // namespace attn::ex10
