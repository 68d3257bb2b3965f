// answers: 2.3
// expect 2.3: failing: the inverse permutation
#include "exercises.hpp"

#include <string>

namespace attn::ex02 {

Matrix permute_rows(const Matrix& x, const std::vector<std::size_t>& order) {
    const char* fn = "attn::ex02::permute_rows";
    check_shape(fn, "x", x, {any("T"), any("d")});
    if (order.size() != x.shape(0))
        invalid_argument(fn, "order has " + std::to_string(order.size()) +
                                 " entries, x has T = " + std::to_string(x.shape(0)) + " rows");
    std::vector<bool> seen(order.size());
    for (std::size_t i : order) {
        if (i >= order.size() || seen[i])
            invalid_argument(fn, "order contains " + std::to_string(i) + " out of range or twice");
        seen[i] = true;
    }
    Matrix out = xt::zeros<float>(x.shape());
    for (std::size_t i = 0; i < order.size(); ++i) xt::row(out, order[i]) = xt::row(x, i);
    return out;
}

}  // namespace attn::ex02
