// answers: 10.1
// expect 10.1: failing
// mistake: the range check refuses position > covered instead of position >= covered, so position = covered (the first one outside the table) gets through and block_table.at() throws std::out_of_range instead of std::invalid_argument naming block_slot
// part: the table's bound
#include "exercises.hpp"

#include <string>

namespace attn::ex10 {

BlockSlot block_slot(std::size_t position, std::size_t block_size,
                     const std::vector<std::size_t>& block_table) {
    constexpr const char* fn = "attn::ex10::block_slot";
    if (block_size == 0)
        attn::invalid_argument(fn, "block_size = 0: a block must hold at least one position");
    const std::size_t covered = block_table.size() * block_size;
    if (position > covered) {
        attn::invalid_argument(fn, "position = " + std::to_string(position) +
                                       " is outside the block table, which covers " +
                                       std::to_string(covered) + " positions");
    }
    const std::size_t entry = position / block_size;
    return BlockSlot{block_table.at(entry), position % block_size};
}

}  // namespace attn::ex10
