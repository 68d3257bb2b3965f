// answers: 2.3
// expect 2.3: failing
// mistake: checks the number of entries and that each is below T, but never looks for a repeated entry, so {0, 0, 1} is accepted and duplicates a row
// part: the repeated-entry check
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
        attn::invalid_argument(fn, "order has " + std::to_string(order.size()) +
                                       " entries, but x has T = " + std::to_string(T) + " rows");
    }
    for (std::size_t i = 0; i < T; ++i) {
        if (order[i] >= T) {
            attn::invalid_argument(fn, "order[" + std::to_string(i) +
                                           "] = " + std::to_string(order[i]) +
                                           " is out of range 0.." + std::to_string(T - 1));
        }
    }
    Matrix out = xt::zeros<float>({T, x.shape(1)});
    for (std::size_t i = 0; i < T; ++i) xt::row(out, i) = xt::row(x, order[i]);
    return out;
}

}  // namespace attn::ex02
