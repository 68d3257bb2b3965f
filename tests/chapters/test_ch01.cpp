// Chapter 01's own code: properties first, then PyTorch reference values
// (tests/reference/ch01.txt, max abs error 1e-5), then rejected input.
#include "chapters/01_single_head_attention/single_head_attention.hpp"

#include "common/random.hpp"
#include "matchers.hpp"
#include "reference.hpp"

#include <xtensor/xview.hpp>

#include <cmath>
#include <limits>

using attn::Matrix;
using attn::Vector;
using attn::test::AreWeights;
using attn::test::IsClose;
using attn::test::Reference;

namespace {
const Reference& ref() {
    return Reference::load("ch01");
}
constexpr float inf = std::numeric_limits<float>::infinity();
}  // namespace

TEST_CASE("softmax: rows sum to one for random logits of many scales") {
    attn::Rng rng(7);
    for (float scale : {0.1f, 1.0f, 10.0f, 100.0f}) {
        CAPTURE(scale);
        CHECK_THAT(attn::softmax(attn::random_normal(16, rng, scale)), AreWeights<1>());
        CHECK_THAT(attn::softmax_rows(attn::random_normal(5, 16, rng, scale)), AreWeights<2>());
    }
}

TEST_CASE("softmax: adding a constant to every logit changes nothing") {
    const Vector logits = ref().vector("softmax.logits");
    const Vector expected = attn::softmax(logits);
    for (float c : {-50.0f, -1.0f, 3.5f, 80.0f}) {
        CAPTURE(c);
        CHECK_THAT(attn::softmax(logits + c), IsClose(expected));
    }
}

TEST_CASE("softmax: no overflow for logits of +-1e4") {
    CHECK_THAT(attn::softmax(ref().vector("softmax_large.logits")),
               IsClose(ref().vector("softmax_large.weights")));
    CHECK_THAT(attn::softmax(ref().vector("softmax_negative.logits")),
               IsClose(ref().vector("softmax_negative.weights")));
    CHECK_THAT(attn::softmax(Vector{1e4f, -1e4f}), IsClose(Vector{1, 0}));
}

TEST_CASE("naive softmax overflows where the stable one does not") {
    const Vector naive = attn::naive_softmax(Vector{100, 101, 102});
    CHECK(std::isnan(naive(0)));
    CHECK_THAT(attn::softmax(Vector{100, 101, 102}), IsClose(attn::softmax(Vector{0, 1, 2})));
}

TEST_CASE("softmax: -inf logits get weight 0, an all -inf row gives zeros, NaN propagates") {
    CHECK_THAT(attn::softmax(Vector{0, -inf, 0}), IsClose(Vector{0.5f, 0, 0.5f}));
    CHECK_THAT(attn::softmax(Vector{-inf, -inf}), IsClose(Vector{0, 0}));
    CHECK_THAT(attn::softmax_rows(Matrix{{-inf, -inf}, {1, 1}}),
               IsClose(Matrix{{0, 0}, {0.5f, 0.5f}}));
    const Vector with_nan = attn::softmax(Vector{1, std::numeric_limits<float>::quiet_NaN(), 2});
    for (float w : with_nan) CHECK(std::isnan(w));
}

TEST_CASE("dot_scores, softmax, attend and scaled_dot_product_attention match PyTorch") {
    CHECK_THAT(attn::dot_scores(ref().vector("dot_scores.query"), ref().matrix("dot_scores.keys")),
               IsClose(ref().vector("dot_scores.scores")));
    CHECK_THAT(attn::softmax(ref().vector("softmax.logits")),
               IsClose(ref().vector("softmax.weights")));
    const attn::Attention a = attn::attend(
        ref().vector("attend.query"), ref().matrix("attend.keys"), ref().matrix("attend.values"));
    CHECK_THAT(a.weights, IsClose(ref().vector("attend.weights")));
    CHECK_THAT(a.output, IsClose(ref().vector("attend.output")));
    const attn::AttentionResult r = attn::scaled_dot_product_attention(
        ref().matrix("attention.queries"), ref().matrix("attention.keys"),
        ref().matrix("attention.values"));
    CHECK_THAT(r.weights, IsClose(ref().matrix("attention.weights")));
    CHECK_THAT(r.output, IsClose(ref().matrix("attention.output")));
}

TEST_CASE("softmax_rows, naive_softmax and scaled_scores match PyTorch") {
    CHECK_THAT(attn::softmax_rows(ref().matrix("softmax_rows.logits")),
               IsClose(ref().matrix("softmax_rows.weights")));
    CHECK_THAT(attn::naive_softmax(ref().vector("softmax.logits")),
               IsClose(ref().vector("softmax.weights")));  // fine while e^x does not overflow
    CHECK_THAT(
        attn::scaled_scores(ref().matrix("attention.queries"), ref().matrix("attention.keys")),
        IsClose(ref().matrix("attention.scores")));
}

TEST_CASE("a NaN in one query makes that query's output NaN and leaves the others alone") {
    Matrix q = ref().matrix("attention.queries");
    q(1, 2) = std::numeric_limits<float>::quiet_NaN();
    const attn::AttentionResult r = attn::scaled_dot_product_attention(
        q, ref().matrix("attention.keys"), ref().matrix("attention.values"));
    for (float x : xt::row(r.output, 1)) CHECK(std::isnan(x));
    for (std::size_t i : {0, 2, 3}) {
        CAPTURE(i);
        CHECK_THAT(Vector(xt::row(r.output, i)),
                   IsClose(Vector(xt::row(ref().matrix("attention.output"), i))));
    }
}

TEST_CASE("row i of the matrix form equals attend() for query i") {
    const Matrix Q = ref().matrix("attention.queries");
    const Matrix K = ref().matrix("attention.keys");
    const Matrix V = ref().matrix("attention.values");
    const attn::AttentionResult r = attn::scaled_dot_product_attention(Q, K, V);
    for (std::size_t i = 0; i < Q.shape(0); ++i) {
        CAPTURE(i);
        const attn::Attention a = attn::attend(xt::row(Q, i), K, V);
        CHECK_THAT(a.weights, IsClose(Vector(xt::row(r.weights, i))));
        CHECK_THAT(a.output, IsClose(Vector(xt::row(r.output, i))));
    }
}

TEST_CASE("chapter 01 functions reject bad shapes, naming function, argument and shapes") {
    using attn::test::NamesShapeError;
    CHECK_THROWS_MATCHES(attn::dot_scores(Vector{1, 2}, Matrix{{1, 2, 3}}), std::invalid_argument,
                         NamesShapeError("attn::dot_scores", "[1, 3]"));
    CHECK_THROWS_MATCHES(attn::softmax(Vector::from_shape({0})), std::invalid_argument,
                         NamesShapeError("attn::softmax", "[0]"));
    CHECK_THROWS_MATCHES(attn::naive_softmax(Vector::from_shape({0})), std::invalid_argument,
                         NamesShapeError("attn::naive_softmax", "[0]"));
    CHECK_THROWS_MATCHES(attn::softmax_rows(Matrix::from_shape({2, 0})), std::invalid_argument,
                         NamesShapeError("attn::softmax_rows", "[2, 0]"));
    CHECK_THROWS_MATCHES(attn::attend(Vector{1, 2}, Matrix{{1, 2}}, Matrix{{1}, {2}}),
                         std::invalid_argument, NamesShapeError("attn::attend", "[2, 1]"));
    CHECK_THROWS_MATCHES(attn::attend(Vector::from_shape({0}), Matrix{{1}}, Matrix{{1}}),
                         std::invalid_argument, NamesShapeError("attn::attend", "[0]"));
    CHECK_THROWS_MATCHES(
        attn::scaled_dot_product_attention(Matrix{{1, 2}}, Matrix{{1, 2, 3}}, Matrix{{1}}),
        std::invalid_argument, NamesShapeError("attn::scaled_dot_product_attention", "[1, 3]"));
    CHECK_THROWS_MATCHES(
        attn::scaled_dot_product_attention(Matrix{{1, 2}}, Matrix{{1, 2}}, Matrix{{1}, {2}}),
        std::invalid_argument, NamesShapeError("attn::scaled_dot_product_attention", "[2, 1]"));
}
