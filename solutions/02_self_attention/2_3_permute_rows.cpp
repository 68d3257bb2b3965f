// Exercise 2.3, reference answer.
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
            invalid_argument(fn, "argument 'order' must be a permutation of 0..T-1 with T = " +
                                     std::to_string(T) + ", but contains " + std::to_string(i) +
                                     (i >= T ? " (out of range)" : " twice"));
        }
        seen[i] = true;
    }
    Matrix out = Matrix::from_shape(x.shape());
    for (std::size_t i = 0; i < T; ++i) xt::row(out, i) = xt::row(x, order[i]);
    return out;
}

}  // namespace attn::ex02
