// answers: 10.2
// expect 10.2: failing
// mistake: allocate_block() reports an exhausted pool with std::invalid_argument (through invalid_argument()) instead of std::runtime_error, so a caller that catches std::runtime_error to free blocks does not catch it.
// part: allocate_block's error when no block is free (exception type)
#include "exercises.hpp"

#include <string>

namespace attn::ex10 {

std::size_t allocate_block(BlockPool& pool) {
    if (pool.free.empty()) {
        invalid_argument("attn::ex10::allocate_block", "no free block: all " +
                                                           std::to_string(pool.owners.size()) +
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
        invalid_argument(fn, "block = " + std::to_string(block) + " does not exist: the pool has " +
                                 std::to_string(pool.owners.size()) + " blocks");
    }
    if (pool.owners[block] == 0) {
        invalid_argument(fn, "block = " + std::to_string(block) + " is free already");
    }
    if (--pool.owners[block] == 0) pool.free.push_back(block);
}

}  // namespace attn::ex10
