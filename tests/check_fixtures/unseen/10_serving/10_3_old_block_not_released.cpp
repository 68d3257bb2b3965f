// answers: 10.3
// expect 10.3: failing
// mistake: after copying, the sequence's ownership of the shared block is not given up (its owners are not decreased by 1), so the old block keeps an owner nobody holds and is never freed
// part: copy on write: release the old block
#include "exercises.hpp"

#include <stdexcept>
#include <string>

namespace attn::ex10 {

void make_last_block_writable(BlockPool& pool, Tensor3& storage,
                              std::vector<std::size_t>& block_table, std::size_t length) {
    constexpr const char* fn = "attn::ex10::make_last_block_writable";
    const std::size_t n_blocks = pool.owners.size();
    check_shape(fn, "storage", storage,
                {exactly("n_blocks", n_blocks), any("block_size"), any("d")});
    const std::size_t block_size = storage.shape(1), d = storage.shape(2);
    const std::size_t needed = (length + block_size - 1) / block_size;
    if (block_table.size() != needed) {
        invalid_argument(fn, "length = " + std::to_string(length) + " needs " +
                                 std::to_string(needed) + " blocks of " +
                                 std::to_string(block_size) + ", but the table has " +
                                 std::to_string(block_table.size()));
    }
    for (std::size_t i = 0; i < block_table.size(); ++i) {
        if (block_table[i] >= n_blocks) {
            invalid_argument(
                fn, "block_table[" + std::to_string(i) + "] = " + std::to_string(block_table[i]) +
                        " is not a block of the pool, which has " + std::to_string(n_blocks));
        }
    }
    const std::size_t offset = length % block_size;
    const bool full = offset == 0;
    if (!full && pool.owners[block_table.back()] <= 1) return;  // this sequence's alone
    if (pool.free.empty()) {
        throw std::runtime_error(std::string(fn) + ": no block is free (all " +
                                 std::to_string(n_blocks) + " blocks are in use)");
    }
    const std::size_t fresh = pool.free.back();
    pool.free.pop_back();
    pool.owners[fresh] = 1;
    if (full) {
        block_table.push_back(fresh);
        return;
    }
    // Copy on write: the fork keeps reading the old block, this sequence writes the copy.
    const std::size_t shared = block_table.back();
    for (std::size_t r = 0; r < offset; ++r)
        for (std::size_t i = 0; i < d; ++i) storage(fresh, r, i) = storage(shared, r, i);
    block_table.back() = fresh;
}

}  // namespace attn::ex10
