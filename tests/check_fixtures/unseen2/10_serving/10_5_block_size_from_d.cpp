// answers: 10.5
// expect 10.5: failing
// mistake: block_size is read from keys.shape(2) (the width d) instead of keys.shape(1), so positions are mapped to the wrong block and row and the coverage check uses the wrong count; right only when block_size equals d
// part: reading the block size
#include "exercises.hpp"

#include <xtensor/xbuilder.hpp>
#include <xtensor/xview.hpp>

#include <string>

namespace attn::ex10 {

Vector attend_paged(const Vector& query, const Tensor3& keys, const Tensor3& values,
                    const std::vector<std::size_t>& block_table, std::size_t length) {
    constexpr const char* fn = "attn::ex10::attend_paged";
    check_shape(fn, "keys", keys, {any("n_blocks"), any("block_size"), any("d")});
    const std::size_t n_blocks = keys.shape(0), block_size = keys.shape(2), d = keys.shape(2);
    check_shape(fn, "query", query, {exactly("d", d)});
    check_shape(
        fn, "values", values,
        {exactly("n_blocks", n_blocks), exactly("block_size", keys.shape(1)), exactly("d", d)});
    if (length == 0) attn::invalid_argument(fn, "length = 0: there is nothing to attend to");
    for (std::size_t i = 0; i < block_table.size(); ++i) {
        if (block_table[i] >= n_blocks) {
            attn::invalid_argument(fn, "block_table[" + std::to_string(i) +
                                           "] = " + std::to_string(block_table[i]) +
                                           " is not a block of the pool, which has " +
                                           std::to_string(n_blocks) + " blocks");
        }
    }
    const std::size_t covered = block_table.size() * block_size;
    if (length > covered) {
        attn::invalid_argument(fn, "length = " + std::to_string(length) +
                                       " but the block table covers only " +
                                       std::to_string(covered) + " positions");
    }
    Matrix k = xt::zeros<float>({length, d});
    Matrix v = xt::zeros<float>({length, d});
    for (std::size_t t = 0; t < length; ++t) {
        const std::size_t block = block_table[t / block_size], row = t % block_size;
        xt::row(k, t) = xt::view(keys, block, row, xt::all());
        xt::row(v, t) = xt::view(values, block, row, xt::all());
    }
    return attn::attend(query, k, v).output;
}

}  // namespace attn::ex10
