// Chapter 09: every backward function against PyTorch's autograd (tests/reference/ch09.txt,
// float64 gradients rounded to float32 once), a central finite difference of the loss, and
// the properties a gradient must have.
#include "chapters/03_causal_masking/causal_masking.hpp"
#include "chapters/04_multi_head_attention/multi_head_attention.hpp"
#include "chapters/09_learning/backward.hpp"

#include "matchers.hpp"
#include "reference.hpp"

#include <xtensor/xview.hpp>

#include <cmath>
#include <functional>
#include <vector>

using attn::Matrix;
using attn::Vector;
using attn::test::IsClose;
using attn::test::Reference;
using Catch::Matchers::Contains;

namespace {

const Reference& ref() {
    return Reference::load("ch09");
}

std::vector<std::size_t> ids(const Vector& v) {
    return {v.begin(), v.end()};
}

// sum(f(x) * dy), the loss whose gradient with respect to x is the backward pass's dx.
double loss_of(const Matrix& y, const Matrix& dy) {
    double sum = 0.0;
    for (std::size_t i = 0; i < y.size(); ++i)
        sum += static_cast<double>(y.data()[i]) * dy.data()[i];
    return sum;
}

// The central difference (L(x + h e_i) - L(x - h e_i)) / 2h for every element of x.
Matrix finite_difference(const Matrix& x, const std::function<double(const Matrix&)>& loss,
                         float h = 1e-2f) {
    Matrix g = xt::zeros<float>(x.shape());
    for (std::size_t i = 0; i < x.size(); ++i) {
        Matrix plus = x, minus = x;
        plus.data()[i] += h;
        minus.data()[i] -= h;
        g.data()[i] = static_cast<float>((loss(plus) - loss(minus)) / (2.0 * h));
    }
    return g;
}

attn::MultiHeadWeights reference_layer() {
    attn::MultiHeadWeights w;
    w.w_q = ref().matrix("mha.w_q");
    w.w_k = ref().matrix("mha.w_k");
    w.w_v = ref().matrix("mha.w_v");
    w.w_o = ref().matrix("mha.w_o");
    w.b_q = ref().vector("mha.b_q");
    w.b_k = ref().vector("mha.b_k");
    w.b_v = ref().vector("mha.b_v");
    w.b_o = ref().vector("mha.b_o");
    w.n_heads = 4;
    w.n_kv_heads = 2;
    return w;
}

}  // namespace

TEST_CASE("linear_backward equals PyTorch's gradients of x W + b") {
    const auto g = attn::linear_backward(ref().matrix("linear.x"), ref().matrix("linear.w"),
                                         ref().matrix("linear.dy"));
    CHECK_THAT(g.dx, IsClose(ref().matrix("linear.dx"), 1e-5f));
    CHECK_THAT(g.dw, IsClose(ref().matrix("linear.dw"), 1e-5f));
    CHECK_THAT(g.db, IsClose(ref().vector("linear.db"), 1e-5f));
}

TEST_CASE("softmax_backward equals PyTorch's, and each row of dS sums to zero") {
    const Matrix ds = attn::softmax_backward(ref().matrix("softmax.p"), ref().matrix("softmax.dp"));
    CHECK_THAT(ds, IsClose(ref().matrix("softmax.ds"), 1e-5f));
    // Adding one number to a whole row of scores changes no weight: dS is orthogonal to it.
    for (std::size_t i = 0; i < ds.shape(0); ++i)
        CHECK(std::abs(xt::sum(xt::row(ds, i))()) < 1e-5f);
}

TEST_CASE(
    "causal_attention_backward equals PyTorch's; the last key and value get only the last "
    "query's gradient") {
    const Matrix q = ref().matrix("attn.q"), k = ref().matrix("attn.k"), v = ref().matrix("attn.v");
    const Matrix dout = ref().matrix("attn.dout");
    CHECK_THAT(attn::masked_attention(q, k, v, attn::causal_mask(q.shape(0))).output,
               IsClose(ref().matrix("attn.out"), 1e-5f));
    const auto g = attn::causal_attention_backward(q, k, v, dout);
    CHECK_THAT(g.dq, IsClose(ref().matrix("attn.dq"), 1e-5f));
    CHECK_THAT(g.dk, IsClose(ref().matrix("attn.dk"), 1e-5f));
    CHECK_THAT(g.dv, IsClose(ref().matrix("attn.dv"), 1e-5f));
    // The mask in the gradient: the last position is seen by the last query alone, whose
    // weight on itself is P[T-1, T-1]; so dV's last row is that weight times dO's last row.
    const std::size_t last = q.shape(0) - 1;
    const Matrix p = attn::masked_attention(q, k, v, attn::causal_mask(q.shape(0))).weights;
    CHECK_THAT(Vector(xt::row(g.dv, last)),
               IsClose(Vector(p(last, last) * xt::row(dout, last)), 1e-6f));
    // The first query sees only the first key: its weight is 1 whatever its score, so dQ_0 = 0.
    CHECK_THAT(Vector(xt::row(g.dq, 0)), IsClose(Vector(xt::zeros<float>({q.shape(1)})), 1e-6f));
}

TEST_CASE(
    "multi_head_attention_backward equals PyTorch's for every tensor, grouped-query heads "
    "and biases included") {
    const attn::MultiHeadWeights w = reference_layer();
    const Matrix x = ref().matrix("mha.x");
    CHECK_THAT(attn::multi_head_attention(x, w, true).output,
               IsClose(ref().matrix("mha.y"), 1e-5f));
    const auto g = attn::multi_head_attention_backward(x, w, ref().matrix("mha.dy"));
    CHECK_THAT(g.dx, IsClose(ref().matrix("mha.dx"), 1e-5f));
    CHECK_THAT(g.d_w.w_q, IsClose(ref().matrix("mha.dw_q"), 1e-5f));
    CHECK_THAT(g.d_w.w_k, IsClose(ref().matrix("mha.dw_k"), 1e-5f));
    CHECK_THAT(g.d_w.w_v, IsClose(ref().matrix("mha.dw_v"), 1e-5f));
    CHECK_THAT(g.d_w.w_o, IsClose(ref().matrix("mha.dw_o"), 1e-5f));
    CHECK_THAT(g.d_w.b_q, IsClose(ref().vector("mha.db_q"), 1e-5f));
    CHECK_THAT(g.d_w.b_v, IsClose(ref().vector("mha.db_v"), 1e-5f));
    CHECK_THAT(g.d_w.b_o, IsClose(ref().vector("mha.db_o"), 1e-5f));
    // A key bias adds the same number to every score of a query's row, which the softmax
    // ignores: its gradient is zero (PyTorch's is 3e-16).
    CHECK_THAT(g.d_w.b_k, IsClose(ref().vector("mha.db_k"), 1e-5f));
}

TEST_CASE("layer_norm_backward equals PyTorch's and a central difference of the loss") {
    const Matrix x = ref().matrix("ln.x"), dy = ref().matrix("ln.dy");
    const Vector gain = ref().vector("ln.gain"), bias = ref().vector("ln.bias");
    const auto g = attn::layer_norm_backward(x, gain, dy);
    CHECK_THAT(g.dx, IsClose(ref().matrix("ln.dx"), 1e-5f));
    CHECK_THAT(g.dgain, IsClose(ref().vector("ln.dgain"), 1e-5f));
    CHECK_THAT(g.dbias, IsClose(ref().vector("ln.dbias"), 1e-5f));
    const Matrix numeric = finite_difference(
        x, [&](const Matrix& at) { return loss_of(attn::layer_norm(at, gain, bias), dy); });
    CHECK_THAT(g.dx, IsClose(numeric, 2e-3f));
    // Shifting a row changes nothing after the norm: each row of dx sums to zero.
    for (std::size_t t = 0; t < x.shape(0); ++t)
        CHECK(std::abs(xt::sum(xt::row(g.dx, t))()) < 1e-5f);
}

TEST_CASE("gelu_backward equals PyTorch's tanh GELU gradient and a central difference") {
    const Matrix x = ref().matrix("gelu.x"), dy = ref().matrix("gelu.dy");
    const Matrix dx = attn::gelu_backward(x, dy);
    CHECK_THAT(dx, IsClose(ref().matrix("gelu.dx"), 1e-5f));
    CHECK_THAT(dx,
               IsClose(finite_difference(
                           x, [&](const Matrix& at) { return loss_of(attn::gelu(at), dy); }, 1e-3f),
                       1e-3f));
}

TEST_CASE("embedding_backward adds the rows of a token used twice") {
    const std::vector<std::size_t> tokens = ids(ref().vector("emb.tokens"));
    const Matrix de = attn::embedding_backward(tokens, ref().matrix("emb.dy"), 6);
    CHECK_THAT(de, IsClose(ref().matrix("emb.dtable"), 1e-6f));
    CHECK_THROWS_WITH(attn::embedding_backward({0, 6, 1, 2}, ref().matrix("emb.dy"), 6),
                      Contains("attn::embedding_backward") && Contains("6"));
}

TEST_CASE("cross_entropy equals PyTorch's loss and gradient, with the 1/N of the mean") {
    const Matrix z = ref().matrix("ce.logits");
    const std::vector<std::size_t> targets = ids(ref().vector("ce.targets"));
    const auto ce = attn::cross_entropy(z, targets);
    CHECK(std::abs(ce.loss - ref().vector("ce.loss")(0)) < 1e-5);
    CHECK_THAT(ce.dlogits, IsClose(ref().matrix("ce.dlogits"), 1e-6f));
    // Each row: softmax minus one-hot, so it sums to zero; divided by N = 5.
    for (std::size_t t = 0; t < z.shape(0); ++t)
        CHECK(std::abs(xt::sum(xt::row(ce.dlogits, t))()) < 1e-6f);
    // Logits of 1e4 do not overflow: the log-sum-exp subtracts the maximum first.
    const auto big = attn::cross_entropy(Matrix{{1e4f, 0.0f}, {0.0f, 1e4f}}, {0, 0});
    CHECK(std::abs(big.loss - 5e3) < 1e-6 * 5e3);
    CHECK(std::isfinite(big.dlogits(1, 1)));
}

TEST_CASE("the backward functions name themselves and the shapes for bad input") {
    const Matrix x = xt::ones<float>({3, 4});
    CHECK_THROWS_WITH(
        attn::linear_backward(x, Matrix(xt::ones<float>({4, 2})), Matrix(xt::ones<float>({3, 5}))),
        Contains("attn::linear_backward") && Contains("'dy'") && Contains("[3, 5]"));
    CHECK_THROWS_WITH(attn::softmax_backward(x, Matrix(xt::ones<float>({4, 3}))),
                      Contains("attn::softmax_backward") && Contains("'dp'"));
    CHECK_THROWS_WITH(attn::causal_attention_backward(x, Matrix(xt::ones<float>({2, 4})), x, x),
                      Contains("attn::causal_attention_backward") && Contains("'k'"));
    CHECK_THROWS_WITH(attn::layer_norm_backward(x, Vector(xt::ones<float>({3})), x),
                      Contains("attn::layer_norm_backward") && Contains("'gain'"));
    CHECK_THROWS_WITH(attn::gelu_backward(x, Matrix(xt::ones<float>({4, 3}))),
                      Contains("attn::gelu_backward") && Contains("'dy'"));
    CHECK_THROWS_WITH(attn::cross_entropy(x, {0, 1}),
                      Contains("attn::cross_entropy") && Contains("'logits'"));
    CHECK_THROWS_WITH(attn::cross_entropy(x, {0, 1, 4}),
                      Contains("attn::cross_entropy") && Contains("4"));
    attn::MultiHeadWeights w = reference_layer();
    CHECK_THROWS_WITH(attn::multi_head_attention_backward(Matrix(xt::ones<float>({5, 8})), w,
                                                          Matrix(xt::ones<float>({4, 8}))),
                      Contains("attn::multi_head_attention_backward") && Contains("'dy'"));
}
