// answers: 10.6
// expect 10.6: failing
// mistake: the watermark counts only the requests admitted before this one in this step and forgets the sequences already running, so needs {6}, free_blocks 8, growth 1, running 2 admits 1 (1 + 6 + 0 = 7) instead of 0 (1 + 6 + 2 = 9 > 8).
// part: the watermark (one spare block per running sequence)
#include "exercises.hpp"

#include <string>

namespace attn::ex10 {

std::size_t admissions(const std::vector<std::size_t>& needs, std::size_t free_blocks,
                       std::size_t growth, std::size_t running) {
    (void)running;
    for (std::size_t i = 0; i < needs.size(); ++i) {
        if (needs[i] == 0) {
            invalid_argument(
                "attn::ex10::admissions",
                "needs[" + std::to_string(i) + "] = 0: every request holds at least one block");
        }
    }
    if (growth > free_blocks) {
        invalid_argument("attn::ex10::admissions",
                         "growth = " + std::to_string(growth) + " but only " +
                             std::to_string(free_blocks) +
                             " free blocks: the scheduler must make room first");
    }
    std::size_t total = growth;
    std::size_t admitted = 0;
    for (std::size_t i = 0; i < needs.size(); ++i) {
        total += needs[i];
        if (total + admitted > free_blocks) {
            break;
        }
        ++admitted;
    }
    return admitted;
}

}  // namespace attn::ex10
