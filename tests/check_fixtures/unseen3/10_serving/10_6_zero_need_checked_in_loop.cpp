// answers: 10.6
// expect 10.6: failing
// mistake: a need of 0 is only checked while walking the queue, so a zero behind the first request that does not fit is never seen: needs {5, 0}, free_blocks 3, growth 0, running 0 returns 0 instead of throwing for needs[1] = 0.
// part: the refusal of a need of 0 (before anything else, for every request)
#include "exercises.hpp"

#include <string>

namespace attn::ex10 {

std::size_t admissions(const std::vector<std::size_t>& needs, std::size_t free_blocks,
                       std::size_t growth, std::size_t running) {
    if (growth > free_blocks) {
        invalid_argument("attn::ex10::admissions",
                         "growth = " + std::to_string(growth) + " but only " +
                             std::to_string(free_blocks) +
                             " free blocks: the scheduler must make room first");
    }
    std::size_t total = growth;
    std::size_t admitted = 0;
    for (std::size_t i = 0; i < needs.size(); ++i) {
        if (needs[i] == 0) {
            invalid_argument(
                "attn::ex10::admissions",
                "needs[" + std::to_string(i) + "] = 0: every request holds at least one block");
        }
        total += needs[i];
        if (total + running + i > free_blocks) {
            break;
        }
        ++admitted;
    }
    return admitted;
}

}  // namespace attn::ex10
