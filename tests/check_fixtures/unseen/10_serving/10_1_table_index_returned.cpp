// answers: 10.1
// expect 10.1: failing
// mistake: it returns the index into the table (position / block_size) as the block instead of the table's entry block_table[position / block_size], so any table that is not {0, 1, 2, ...} gives the wrong block
// part: result: block of the pool, not table index
#include "exercises.hpp"

#include <string>

namespace attn::ex10 {

BlockSlot block_slot(std::size_t position, std::size_t block_size,
                     const std::vector<std::size_t>& block_table) {
    constexpr const char* fn = "attn::ex10::block_slot";
    if (block_size == 0) invalid_argument(fn, "block_size = 0: a block holds at least 1 position");
    const std::size_t covered = block_table.size() * block_size;
    if (position >= covered) {
        invalid_argument(fn, "position = " + std::to_string(position) +
                                 " is not in the table: its " + std::to_string(block_table.size()) +
                                 " blocks of " + std::to_string(block_size) + " cover " +
                                 std::to_string(covered) + " positions");
    }
    return {position / block_size, position % block_size};
}

}  // namespace attn::ex10
