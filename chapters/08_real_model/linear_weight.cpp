#include "chapters/08_real_model/linear_weight.hpp"

#include "chapters/08_real_model/decode_kernels.hpp"
#include "common/matmul.hpp"
#include "common/shape.hpp"

#include <xtensor/xbuilder.hpp>
#include <xtensor/xmanipulation.hpp>

#include <algorithm>
#include <string>
#include <utility>

namespace attn {

LinearWeight::LinearWeight(const float* data, std::size_t out, std::size_t in,
                           std::shared_ptr<const void> owner)
    : data_(data), out_(out), in_(in), owner_(std::move(owner)) {}

LinearWeight LinearWeight::from_out_in(Matrix w) {
    auto owned = std::make_shared<const Matrix>(std::move(w));
    return {owned->data(), owned->shape(0), owned->shape(1), owned};
}

LinearWeight LinearWeight::from_in_out(const Matrix& w) {
    return from_out_in(Matrix(xt::transpose(w)));
}

Matrix LinearWeight::stored() const {
    Matrix m = xt::zeros<float>({out_, in_});
    std::copy_n(data_, out_ * in_, m.data());
    return m;
}

Matrix project(const Matrix& x, const LinearWeight& w, const char* caller, const char* name) {
    check_shape(caller, "x", x, {any("T"), any("in")});
    if (w.in() != x.shape(1)) {
        invalid_argument(caller, std::string("weight '") + name + "' is stored " + shape_of(w) +
                                     " ([out, in]); x has " + std::to_string(x.shape(1)) +
                                     " columns, not in = " + std::to_string(w.in()));
    }
    Matrix y = xt::zeros<float>({x.shape(0), w.out()});
    // A single row (a decode step) goes to the kernel made for it, which reads W at the
    // speed of memory; more rows to one product that reads W as stored: read transposed,
    // it is x (W_stored)^T.
    if (x.shape(0) == 1 && w.in() > 0) {
        project_row(x.data(), w, y.data());
        return y;
    }
    gemm(x.shape(0), w.out(), w.in(), 1.0f, x.data(), w.in(), Read::as_stored, w.data(), w.in(),
         Read::transposed, 0.0f, y.data(), w.out());
    return y;
}

void project_row(const float* x, const LinearWeight& w, float* y) {
    matvec(w.data(), x, w.out(), w.in(), y);
}

}  // namespace attn
