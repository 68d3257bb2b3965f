// answers: 10.6
// expect 10.6: failing
// mistake: the test is rearranged as needs[0] + ... + needs[i] <= free_blocks - growth - running - i in std::size_t, which wraps to a huge number when running + i is more than the room left, so needs {1}, free_blocks 3, growth 1, running 5 admits 1 instead of 0.
// part: the fit test (unsigned subtraction)
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
    if (growth > free_blocks) {
        invalid_argument("attn::ex10::admissions",
                         "growth = " + std::to_string(growth) + " but only " +
                             std::to_string(free_blocks) +
                             " free blocks: the scheduler must make room first");
    }
    std::size_t sum = 0;
    std::size_t admitted = 0;
    for (std::size_t i = 0; i < needs.size(); ++i) {
        sum += needs[i];
        if (sum > free_blocks - growth - running - i) {
            break;
        }
        ++admitted;
    }
    return admitted;
}

}  // namespace attn::ex10
