// answers: 10.3
// expect 10.3: failing
// mistake: the shared test is owners >= 1 instead of owners > 1, so a last block the sequence owns alone is also copied into a new block and released (freed), changing the table and the pool when nothing should change, and throwing when no block is free
// part: the shared-block test
#include "exercises.hpp"

#include <stdexcept>
#include <string>
#include <xtensor/xview.hpp>

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
        attn::invalid_argument(fn, "length = " + std::to_string(length) + " needs " +
                                       std::to_string(needed) + " blocks, but the table has " +
                                       std::to_string(block_table.size()));
    }
    for (std::size_t i = 0; i < block_table.size(); ++i) {
        if (block_table[i] >= n_blocks) {
            attn::invalid_argument(fn, "block_table[" + std::to_string(i) +
                                           "] = " + std::to_string(block_table[i]) +
                                           " is not a block of the pool, which has " +
                                           std::to_string(n_blocks) + " blocks");
        }
    }
    const auto take_block = [&]() {
        if (pool.free.empty()) {
            throw std::runtime_error(std::string(fn) + ": no free block: all " +
                                     std::to_string(n_blocks) + " blocks are in use");
        }
        const std::size_t f = pool.free.back();
        pool.free.pop_back();
        pool.owners[f] = 1;
        return f;
    };

    const std::size_t used = length % block_size;
    if (used == 0) {  // the blocks are full (or there are none): a new one at the back
        block_table.push_back(take_block());
        return;
    }
    const std::size_t last = block_table.back();
    if (pool.owners[last] >= 1) {  // shared: copy before writing
        const std::size_t fresh = take_block();
        for (std::size_t r = 0; r < used; ++r)
            xt::view(storage, fresh, r, xt::all()) = xt::view(storage, last, r, xt::all());
        --pool.owners[last];
        if (pool.owners[last] == 0) pool.free.push_back(last);
        block_table.back() = fresh;
    }
}

}  // namespace attn::ex10
