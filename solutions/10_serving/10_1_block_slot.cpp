// Exercise 10.1, reference answer.
#include "exercises.hpp"

#include <string>

namespace attn::ex10 {

BlockSlot block_slot(std::size_t position, std::size_t block_size,
                     const std::vector<std::size_t>& block_table) {
    constexpr const char* fn = "attn::ex10::block_slot";
    if (block_size == 0) invalid_argument(fn, "block_size = 0: a block holds at least 1 position");
    const std::size_t covered = block_table.size() * block_size;
    if (position >= covered) {  // positions 0..covered-1
        invalid_argument(fn, "position = " + std::to_string(position) +
                                 " is not in the table: its " + std::to_string(block_table.size()) +
                                 " blocks of " + std::to_string(block_size) + " cover " +
                                 std::to_string(covered) + " positions, 0.." +
                                 std::to_string(covered) + " (excluded)");
    }
    // The table's entry, a block of the pool; not the index into the table.
    return {block_table[position / block_size], position % block_size};
}

}  // namespace attn::ex10
