// answers: 2.3
// expect 2.3: failing
// mistake: the entries of order are only checked to be below T, never for repeats, so an order like {0, 0, 1} is accepted and duplicates a row
// part: argument check: repeated entry
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
    for (std::size_t i : order) {
        if (i >= T) {
            invalid_argument(fn, "argument 'order' contains " + std::to_string(i) +
                                     ", out of range for T = " + std::to_string(T));
        }
    }
    Matrix out = Matrix::from_shape(x.shape());
    for (std::size_t i = 0; i < T; ++i) xt::row(out, i) = xt::row(x, order[i]);
    return out;
}

}  // namespace attn::ex02
