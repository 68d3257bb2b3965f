// answers: 10.2
// expect 10.2: failing
// mistake: an empty free list is reported with attn::invalid_argument (std::invalid_argument) instead of std::runtime_error, so a server catching the out-of-memory error misses it; release_block is right
// part: the exception type when the pool is empty
#include "exercises.hpp"

#include <string>

namespace attn::ex10 {

std::size_t allocate_block(BlockPool& pool) {
    if (pool.free.empty()) {
        attn::invalid_argument("attn::ex10::allocate_block",
                               "no free block: all " + std::to_string(pool.owners.size()) +
                                   " blocks of the pool are in use");
    }
    const std::size_t block = pool.free.back();
    pool.free.pop_back();
    pool.owners[block] = 1;
    return block;
}

void release_block(BlockPool& pool, std::size_t block) {
    constexpr const char* fn = "attn::ex10::release_block";
    if (block >= pool.owners.size()) {
        attn::invalid_argument(fn, "block = " + std::to_string(block) +
                                       " is not a block of the pool, which has " +
                                       std::to_string(pool.owners.size()) + " blocks");
    }
    if (pool.owners[block] == 0)
        attn::invalid_argument(
            fn, "block = " + std::to_string(block) + " is free already (released twice)");
    --pool.owners[block];
    if (pool.owners[block] == 0) pool.free.push_back(block);
}

}  // namespace attn::ex10
