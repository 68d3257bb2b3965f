// answers: 10.2
// expect 10.2: failing
// mistake: when no block is free allocate_block throws std::invalid_argument instead of std::runtime_error, so a server catching runtime_error to free blocks never sees the out-of-memory error
// part: allocate: error type when the pool is full
#include "exercises.hpp"

#include <stdexcept>
#include <string>

namespace attn::ex10 {

std::size_t allocate_block(BlockPool& pool) {
    if (pool.free.empty()) {
        invalid_argument(
            "attn::ex10::allocate_block",
            "no block is free (all " + std::to_string(pool.owners.size()) + " blocks are in use)");
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
    if (--pool.owners[block] == 0) pool.free.push_back(block);
}

}  // namespace attn::ex10
