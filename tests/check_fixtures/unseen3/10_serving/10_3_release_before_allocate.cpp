// answers: 10.3
// expect 10.3: failing
// mistake: this sequence's share of the old block is released before the new block is allocated, so when the pool has no free block the std::runtime_error leaves the pool changed (the shared block has lost an owner) instead of changing nothing.
// part: order of release and allocation in the shared-block case
#include "exercises.hpp"

#include <xtensor/xview.hpp>

#include <string>

namespace attn::ex10 {

void make_last_block_writable(BlockPool& pool, Tensor3& storage,
                              std::vector<std::size_t>& block_table, std::size_t length) {
    constexpr const char* fn = "attn::ex10::make_last_block_writable";
    const std::size_t n_blocks = pool.owners.size();
    check_shape(fn, "storage", storage,
                {exactly("n_blocks", n_blocks), any("block_size"), any("d")});
    const std::size_t block_size = storage.shape(1);
    const std::size_t needed = (length + block_size - 1) / block_size;
    if (block_table.size() != needed) {
        invalid_argument(fn, "length = " + std::to_string(length) + " needs " +
                                 std::to_string(needed) + " blocks, but the table has " +
                                 std::to_string(block_table.size()));
    }
    for (const std::size_t b : block_table) {
        if (b >= n_blocks) {
            invalid_argument(fn, "block " + std::to_string(b) + " is not a block of the pool of " +
                                     std::to_string(n_blocks));
        }
    }
    const std::size_t o = length % block_size;
    if (o == 0) {
        block_table.push_back(allocate_block(pool));
        return;
    }
    const std::size_t last = block_table.back();
    if (pool.owners[last] <= 1) return;  // ours alone
    release_block(pool, last);           // give up our share of the shared block
    const std::size_t fresh = allocate_block(pool);
    xt::view(storage, fresh, xt::range(0, o), xt::all()) =
        xt::view(storage, last, xt::range(0, o), xt::all());
    block_table.back() = fresh;
}

}  // namespace attn::ex10
