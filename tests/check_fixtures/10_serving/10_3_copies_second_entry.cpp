// answers: 10.3
// expect 10.3: failing: block_size 3, d 2, a pool of 10 blocks
// Copies from the table's second entry when the table has three or more: only the long run
// of sequences finds it, and its input must show every argument (block_size included).
#include "exercises.hpp"

#include <string>

namespace attn::ex10 {

void make_last_block_writable(BlockPool& pool, Tensor3& storage,
                              std::vector<std::size_t>& block_table, std::size_t length) {
    constexpr const char* fn = "attn::ex10::make_last_block_writable";
    check_shape(fn, "storage", storage,
                {exactly("n_blocks", pool.owners.size()), any("block_size"), any("d")});
    const std::size_t block_size = storage.shape(1), offset = length % block_size;
    if (block_table.size() != (length + block_size - 1) / block_size)
        invalid_argument(fn, "length = " + std::to_string(length) + " does not fit a table of " +
                                 std::to_string(block_table.size()) + " blocks");
    for (std::size_t b : block_table)
        if (b >= pool.owners.size())
            invalid_argument(fn,
                             "the table names block " + std::to_string(b) + ", not in the pool");
    if (offset == 0) {
        block_table.push_back(allocate_block(pool));
        return;
    }
    // the shared block taken from the second entry once the table has three
    const std::size_t old = block_table[block_table.size() > 2 ? 1 : block_table.size() - 1];
    if (pool.owners[old] == 1) return;
    const std::size_t fresh = allocate_block(pool);
    for (std::size_t r = 0; r < offset; ++r)
        for (std::size_t i = 0; i < storage.shape(2); ++i)
            storage(fresh, r, i) = storage(old, r, i);
    release_block(pool, old);
    block_table.back() = fresh;
}

}  // namespace attn::ex10
