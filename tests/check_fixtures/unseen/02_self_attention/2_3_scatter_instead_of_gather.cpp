// answers: 2.3
// expect 2.3: failing
// mistake: row i of x is written to row order[i] of the result instead of reading row order[i] of x into row i, which applies the inverse permutation
// part: permutation direction
#include "exercises.hpp"

#include <xtensor/xview.hpp>

#include <string>

namespace attn::ex02 {

Matrix permute_rows(const Matrix& x, const std::vector<std::size_t>& order) {
    constexpr const char* fn = "attn::ex02::permute_rows";
    check_shape(fn, "x", x, {any("T"), any("d")});
    const std::size_t T = x.shape(0);
    if (order.size() != T) {
        invalid_argument(fn, "argument 'order' must have T = " + std::to_string(T) +
                                 " entries, but has " + std::to_string(order.size()));
    }
    std::vector<bool> seen(T, false);
    for (std::size_t i : order) {
        if (i >= T || seen[i]) {
            invalid_argument(fn, "argument 'order' must be a permutation of 0..T-1, but contains " +
                                     std::to_string(i));
        }
        seen[i] = true;
    }
    Matrix out = Matrix::from_shape(x.shape());
    for (std::size_t i = 0; i < T; ++i) xt::row(out, order[i]) = xt::row(x, i);
    return out;
}

}  // namespace attn::ex02
