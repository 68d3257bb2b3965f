// answers: 10.2
// expect 10.2: failing
// mistake: release_block does not check that the block exists and relies on owners.at(), so a block past the pool throws std::out_of_range instead of std::invalid_argument naming release_block with block = N and the pool size
// part: release: argument check for a block that does not exist
#include "exercises.hpp"

#include <stdexcept>
#include <string>

namespace attn::ex10 {

std::size_t allocate_block(BlockPool& pool) {
    if (pool.free.empty()) {
        throw std::runtime_error("attn::ex10::allocate_block: no block is free (all " +
                                 std::to_string(pool.owners.size()) + " blocks are in use)");
    }
    const std::size_t block = pool.free.back();
    pool.free.pop_back();
    pool.owners[block] = 1;
    return block;
}

void release_block(BlockPool& pool, std::size_t block) {
    constexpr const char* fn = "attn::ex10::release_block";
    if (pool.owners.at(block) == 0) {
        invalid_argument(fn,
                         "block = " + std::to_string(block) + " is already free (freed twice?)");
    }
    if (--pool.owners[block] == 0) pool.free.push_back(block);
}

}  // namespace attn::ex10
