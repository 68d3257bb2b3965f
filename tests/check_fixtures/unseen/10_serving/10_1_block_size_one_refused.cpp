// answers: 10.1
// expect 10.1: failing
// mistake: the block_size check is block_size <= 1 instead of == 0, so the valid block_size 1 (one position per block) is refused with std::invalid_argument
// part: argument check: block_size at least 1
#include "exercises.hpp"

#include <string>

namespace attn::ex10 {

BlockSlot block_slot(std::size_t position, std::size_t block_size,
                     const std::vector<std::size_t>& block_table) {
    constexpr const char* fn = "attn::ex10::block_slot";
    if (block_size <= 1) {
        invalid_argument(fn, "block_size = " + std::to_string(block_size) +
                                 ": a block holds more than 1 position");
    }
    const std::size_t covered = block_table.size() * block_size;
    if (position >= covered) {
        invalid_argument(fn, "position = " + std::to_string(position) +
                                 " is not in the table: its " + std::to_string(block_table.size()) +
                                 " blocks of " + std::to_string(block_size) + " cover " +
                                 std::to_string(covered) + " positions");
    }
    return {block_table[position / block_size], position % block_size};
}

}  // namespace attn::ex10
