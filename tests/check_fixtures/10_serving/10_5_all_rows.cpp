// answers: 10.5
// expect 10.5: failing: attends to every row of the pool
// Softmax over every row of the storage, the other sequences' too.
#include "exercises.hpp"

#include <xtensor/xview.hpp>

#include <string>

namespace attn::ex10 {

Vector attend_paged(const Vector& query, const Tensor3& keys, const Tensor3& values,
                    const std::vector<std::size_t>& block_table, std::size_t length) {
    constexpr const char* fn = "attn::ex10::attend_paged";
    check_shape(fn, "keys", keys, {any("n_blocks"), any("block_size"), any("d")});
    const std::size_t block_size = keys.shape(1), d = keys.shape(2);
    check_shape(fn, "query", query, {exactly("d", d)});
    check_shape(
        fn, "values", values,
        {exactly("n_blocks", keys.shape(0)), exactly("block_size", block_size), exactly("d", d)});
    if (length == 0) invalid_argument(fn, "length = 0");
    if (length > block_table.size() * block_size)
        invalid_argument(fn, "length = " + std::to_string(length) + " is more than the " +
                                 std::to_string(block_table.size() * block_size) +
                                 " positions of the table");
    for (std::size_t b : block_table)
        if (b >= keys.shape(0))
            invalid_argument(fn, "block " + std::to_string(b) + " is not in the pool");
    const std::size_t n = keys.shape(0) * block_size;
    Matrix k = xt::zeros<float>({n, d});
    Matrix v = xt::zeros<float>({n, d});
    for (std::size_t t = 0; t < n; ++t) {
        const BlockSlot slot = BlockSlot{t / block_size, t % block_size};
        xt::row(k, t) = xt::view(keys, slot.block, slot.offset, xt::all());
        xt::row(v, t) = xt::view(values, slot.block, slot.offset, xt::all());
    }
    return attn::attend(query, k, v).output;
}

}  // namespace attn::ex10
