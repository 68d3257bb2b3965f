// answers: 2.3
// expect 2.3: failing
// mistake: the vector of rows already seen is consulted but never set to true, so a repeated entry in order is accepted and the row is copied twice instead of throwing.
// part: argument checks (the repeat test)
#include "exercises.hpp"

#include <xtensor/xbuilder.hpp>
#include <xtensor/xview.hpp>

#include <string>

namespace attn::ex02 {

Matrix permute_rows(const Matrix& x, const std::vector<std::size_t>& order) {
    constexpr const char* fn = "attn::ex02::permute_rows";
    check_shape(fn, "x", x, {any("T"), any("d")});
    const std::size_t T = x.shape(0);
    if (order.size() != T) {
        invalid_argument(fn, "order has " + std::to_string(order.size()) +
                                 " entries, but x has T = " + std::to_string(T) + " rows");
    }
    std::vector<bool> seen(T, false);
    for (std::size_t i = 0; i < T; ++i) {
        const std::size_t r = order[i];
        if (r >= T) {
            invalid_argument(fn, "order[" + std::to_string(i) + "] = " + std::to_string(r) +
                                     " is out of range: rows are 0.." + std::to_string(T - 1));
        }
        if (seen[r]) {
            invalid_argument(
                fn, "order[" + std::to_string(i) + "] = " + std::to_string(r) + " is repeated");
        }
    }
    Matrix out = xt::zeros<float>({T, x.shape(1)});
    for (std::size_t i = 0; i < T; ++i) xt::row(out, i) = xt::row(x, order[i]);
    return out;
}

}  // namespace attn::ex02
