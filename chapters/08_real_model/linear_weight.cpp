#include "chapters/08_real_model/linear_weight.hpp"

#include "common/shape.hpp"

#include <xtensor-blas/xlinalg.hpp>  // cblas_sgemm and cblas_sgemv, through xflens
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

Matrix linear(const Matrix& x, const LinearWeight& w, const char* caller, const char* name) {
    check_shape(caller, "x", x, {any("T"), any("in")});
    if (w.in() != x.shape(1)) {
        invalid_argument(caller, std::string("weight '") + name + "' is stored " + shape_of(w) +
                                     " ([out, in]); x has " + std::to_string(x.shape(1)) +
                                     " columns, not in = " + std::to_string(w.in()));
    }
    Matrix y = xt::zeros<float>({x.shape(0), w.out()});
    if (y.size() == 0 || w.in() == 0) return y;
    // One BLAS call reads W as stored: the transposed flag makes x (W_stored)^T of it.
    // A single row is a matrix-vector product, which OpenBLAS's sgemv does at memory speed.
    const int T = static_cast<int>(x.shape(0)), out = static_cast<int>(w.out()),
              in = static_cast<int>(w.in());
    if (T == 1) {
        cblas_sgemv(CblasRowMajor, CblasNoTrans, out, in, 1.0f, w.data(), in, x.data(), 1, 0.0f,
                    y.data(), 1);
    } else {
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, T, out, in, 1.0f, x.data(), in,
                    w.data(), in, 0.0f, y.data(), out);
    }
    return y;
}

}  // namespace attn
