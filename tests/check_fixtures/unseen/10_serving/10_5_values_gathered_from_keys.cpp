// answers: 10.5
// expect 10.5: failing
// mistake: the value rows are copied from the keys tensor instead of the values tensor, so the output is a weighted sum of keys
// part: gather: values from values
#include "exercises.hpp"

#include <xtensor/xview.hpp>

#include <string>

namespace attn::ex10 {

Vector attend_paged(const Vector& query, const Tensor3& keys, const Tensor3& values,
                    const std::vector<std::size_t>& block_table, std::size_t length) {
    constexpr const char* fn = "attn::ex10::attend_paged";
    check_shape(fn, "keys", keys, {any("n_blocks"), any("block_size"), any("d")});
    const std::size_t n_blocks = keys.shape(0), block_size = keys.shape(1), d = keys.shape(2);
    check_shape(fn, "query", query, {exactly("d", d)});
    check_shape(
        fn, "values", values,
        {exactly("n_blocks", n_blocks), exactly("block_size", block_size), exactly("d", d)});
    if (length == 0) invalid_argument(fn, "length = 0: a query attends to at least one position");
    const std::size_t covered = block_table.size() * block_size;
    if (length > covered) {
        invalid_argument(fn, "length = " + std::to_string(length) + ", but the table's " +
                                 std::to_string(block_table.size()) + " blocks of " +
                                 std::to_string(block_size) + " cover " + std::to_string(covered) +
                                 " positions");
    }
    for (std::size_t i = 0; i < block_table.size(); ++i) {
        if (block_table[i] >= n_blocks) {
            invalid_argument(
                fn, "block_table[" + std::to_string(i) + "] = " + std::to_string(block_table[i]) +
                        " is not a block of the pool, which has " + std::to_string(n_blocks));
        }
    }
    // The sequence's rows in order, through the table; nothing past position length - 1.
    Matrix k = xt::zeros<float>({length, d}), v = xt::zeros<float>({length, d});
    for (std::size_t t = 0; t < length; ++t) {
        const std::size_t block = block_table[t / block_size], row = t % block_size;
        xt::row(k, static_cast<long>(t)) = xt::view(keys, block, row, xt::all());
        xt::row(v, static_cast<long>(t)) = xt::view(keys, block, row, xt::all());
    }
    return attn::attend(query, k, v).output;
}

}  // namespace attn::ex10
