// answers: 10.5
// expect 10.5: failing
// mistake: position t is read from block t / block_size of the pool, the index into the table, instead of block block_table[t / block_size], so the answer is right only when the table is {0, 1, 2, ...} and otherwise attends over other blocks' rows.
// part: the gather of the keys and values (block table not looked up)
#include "exercises.hpp"

#include <xtensor/xbuilder.hpp>
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
    if (length == 0) invalid_argument(fn, "length = 0: attend to at least one position");
    const std::size_t covered = block_table.size() * block_size;
    if (length > covered) {
        invalid_argument(fn, "length = " + std::to_string(length) + " but the table covers " +
                                 std::to_string(covered) + " positions");
    }
    for (const std::size_t b : block_table) {
        if (b >= n_blocks) {
            invalid_argument(fn, "block " + std::to_string(b) + " is not a block of the pool of " +
                                     std::to_string(n_blocks));
        }
    }
    Matrix k = xt::zeros<float>({length, d});
    Matrix v = xt::zeros<float>({length, d});
    for (std::size_t t = 0; t < length; ++t) {
        const std::size_t block = t / block_size, row = t % block_size;
        xt::row(k, t) = xt::view(keys, block, row, xt::all());
        xt::row(v, t) = xt::view(values, block, row, xt::all());
    }
    return attn::attend(query, k, v).output;
}

}  // namespace attn::ex10
