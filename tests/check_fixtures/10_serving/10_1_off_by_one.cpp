// answers: 10.1
// expect 10.1: failing: an index past the end of a std::vector at tests/check_fixtures/10_serving/10_1_off_by_one.cpp
// Accepts the first position past the table.
#include "exercises.hpp"

#include <string>

namespace attn::ex10 {

BlockSlot block_slot(std::size_t position, std::size_t block_size,
                     const std::vector<std::size_t>& block_table) {
    if (block_size == 0) invalid_argument("attn::ex10::block_slot", "block_size = 0");
    if (position > block_table.size() * block_size)
        invalid_argument("attn::ex10::block_slot",
                         "position = " + std::to_string(position) + " is past the " +
                             std::to_string(block_table.size() * block_size) +
                             " positions the table covers");
    return {block_table[position / block_size], position % block_size};
}

}  // namespace attn::ex10
