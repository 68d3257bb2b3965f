// answers: 10.5
// expect 10.5: failing: attend_paged changed its input `keys` (const): element
// The scale 1/sqrt(d) applied once to the whole key pool, in place, through a view of the
// caller's pool (xt::adapt over its .data()): the scores come out right, but the caller's
// keys are scaled, and scaled again on the next call.
#include "exercises.hpp"

#include <xtensor-blas/xlinalg.hpp>
#include <xtensor/xadapt.hpp>
#include <xtensor/xview.hpp>

#include <cmath>
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
    // The pool's numbers, scaled where they are.
    auto pool =
        xt::adapt(const_cast<float*>(keys.data()), keys.size(), xt::no_ownership(), keys.shape());
    pool *= 1.0f / std::sqrt(static_cast<float>(d));
    Matrix k = xt::zeros<float>({length, d});
    Matrix v = xt::zeros<float>({length, d});
    for (std::size_t t = 0; t < length; ++t) {
        const BlockSlot slot = block_slot(t, block_size, block_table);
        xt::row(k, t) = xt::view(keys, slot.block, slot.offset, xt::all());
        xt::row(v, t) = xt::view(values, slot.block, slot.offset, xt::all());
    }
    return xt::linalg::dot(attn::softmax(xt::linalg::dot(k, query)), v);
}

}  // namespace attn::ex10
