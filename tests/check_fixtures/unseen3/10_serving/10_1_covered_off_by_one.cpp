// answers: 10.1
// expect 10.1: failing
// mistake: the coverage test is position > covered instead of position >= covered, so the first position past the table (position = table size * block_size) is accepted and the table is read one entry past its end.
// part: argument checks (the table's coverage bound)
#include "exercises.hpp"

#include <string>

namespace attn::ex10 {

BlockSlot block_slot(std::size_t position, std::size_t block_size,
                     const std::vector<std::size_t>& block_table) {
    constexpr const char* fn = "attn::ex10::block_slot";
    if (block_size == 0)
        invalid_argument(fn, "block_size = 0: a block holds at least one position");
    const std::size_t covered = block_table.size() * block_size;
    if (position > covered) {
        invalid_argument(fn, "position = " + std::to_string(position) +
                                 " is past the table, which covers " + std::to_string(covered) +
                                 " positions");
    }
    return {block_table[position / block_size], position % block_size};
}

}  // namespace attn::ex10
