// answers: 10.2
// expect 10.2: failing: a block that still has an owner goes on the free list
// Every release frees the block, shared or not.
#include "exercises.hpp"

#include <stdexcept>
#include <string>

namespace attn::ex10 {

std::size_t allocate_block(BlockPool& pool) {
    if (pool.free.empty())
        throw std::runtime_error("attn::ex10::allocate_block: no block is free, all " +
                                 std::to_string(pool.owners.size()) + " are in use");
    std::size_t b = pool.free.back();
    pool.free.pop_back();
    pool.owners[b] = 1;
    return b;
}

void release_block(BlockPool& pool, std::size_t block) {
    if (block >= pool.owners.size())
        invalid_argument("attn::ex10::release_block",
                         "block = " + std::to_string(block) + " is not in the pool of " +
                             std::to_string(pool.owners.size()) + " blocks");
    if (pool.owners[block] == 0)
        invalid_argument("attn::ex10::release_block",
                         "block = " + std::to_string(block) + " is already free");
    --pool.owners[block];
    pool.free.push_back(block);
}

}  // namespace attn::ex10
