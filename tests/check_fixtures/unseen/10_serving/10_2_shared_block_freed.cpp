// answers: 10.2
// expect 10.2: failing
// mistake: release_block sets the owners of the block to 0 and pushes it on the free list at once, so a block shared by a fork is freed while the other sequence still uses it
// part: release: shared block stays in use
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
    if (block >= pool.owners.size()) {
        invalid_argument(fn, "block = " + std::to_string(block) + " does not exist: the pool has " +
                                 std::to_string(pool.owners.size()) + " blocks");
    }
    if (pool.owners[block] == 0) {
        invalid_argument(fn,
                         "block = " + std::to_string(block) + " is already free (freed twice?)");
    }
    pool.owners[block] = 0;
    pool.free.push_back(block);
}

}  // namespace attn::ex10
