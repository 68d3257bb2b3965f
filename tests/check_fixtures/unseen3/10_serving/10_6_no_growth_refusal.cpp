// answers: 10.6
// expect 10.6: failing
// mistake: a need of 0 is refused but growth above free_blocks is not, so needs {1}, free_blocks 3, growth 5, running 0 quietly returns 0 instead of throwing std::invalid_argument naming admissions.
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
