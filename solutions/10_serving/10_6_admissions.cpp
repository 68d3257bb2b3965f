// Exercise 10.6, reference answer.
#include "exercises.hpp"

#include <string>

namespace attn::ex10 {

std::size_t admissions(const std::vector<std::size_t>& needs, std::size_t free_blocks,
                       std::size_t growth, std::size_t running) {
    constexpr const char* fn = "attn::ex10::admissions";
    for (std::size_t i = 0; i < needs.size(); ++i)
        if (needs[i] == 0) invalid_argument(fn, "needs[" + std::to_string(i) + "] = 0");
    if (growth > free_blocks) {
        invalid_argument(fn, "growth = " + std::to_string(growth) + " is more than the " +
                                 std::to_string(free_blocks) + " free blocks");
    }
    std::size_t taken = growth, admitted = 0;
    for (std::size_t need : needs) {
        if (taken + need + running + admitted > free_blocks) break;  // it waits, and all behind
        taken += need;
        ++admitted;
    }
    return admitted;
}

}  // namespace attn::ex10
