// answers: 10.1
// expect 10.1: failing
// mistake: block_size = 0 is never checked on its own; the table then covers 0 positions, so the error that comes out says the position is outside the table instead of saying block_size = 0
// part: argument check: block_size = 0
#include "exercises.hpp"

#include <string>

namespace attn::ex10 {

BlockSlot block_slot(std::size_t position, std::size_t block_size,
                     const std::vector<std::size_t>& block_table) {
    constexpr const char* fn = "attn::ex10::block_slot";
    const std::size_t covered = block_table.size() * block_size;
    if (position >= covered) {
        invalid_argument(fn, "position = " + std::to_string(position) +
                                 " is not in the table: it covers " + std::to_string(covered) +
                                 " positions");
    }
    return {block_table[position / block_size], position % block_size};
}

}  // namespace attn::ex10
