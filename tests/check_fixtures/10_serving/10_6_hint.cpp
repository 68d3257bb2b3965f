// answers: 10.6
// expect 10.6: passing
// The hint followed literally: a running total from growth, one spare block per running sequence.
#include "exercises.hpp"

#include <string>

namespace attn::ex10 {

std::size_t admissions(const std::vector<std::size_t>& needs, std::size_t free_blocks,
                       std::size_t growth, std::size_t running) {
    if (growth > free_blocks)
        invalid_argument("attn::ex10::admissions", "growth = " + std::to_string(growth) + " with " +
                                                       std::to_string(free_blocks) +
                                                       " free blocks");
    for (std::size_t i = 0; i < needs.size(); ++i)
        if (needs[i] == 0)
            invalid_argument("attn::ex10::admissions", "needs[" + std::to_string(i) + "] = 0");
    std::size_t total = growth, admitted = 0;
    for (std::size_t need : needs) {
        total += need;
        if (total + running + admitted > free_blocks) break;
        ++admitted;
    }
    return admitted;
}

}  // namespace attn::ex10
