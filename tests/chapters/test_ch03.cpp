// Chapter 03's own code: properties (future independence, masked weights exactly 0, fully
// masked rows), PyTorch reference values (tests/reference/ch03.txt, max abs error 1e-5),
// rejected input.
#include "chapters/03_causal_masking/causal_masking.hpp"

#include "common/random.hpp"
#include "matchers.hpp"
#include "reference.hpp"

#include <xtensor/xview.hpp>

#include <cmath>

using attn::Mask;
using attn::Matrix;
using attn::test::AreWeights;
using attn::test::as_numbers;
using attn::test::IsClose;
using attn::test::NamesShapeError;
using attn::test::Reference;

namespace {
const Reference& ref() {
    return Reference::load("ch03");
}
}  // namespace

TEST_CASE("masks match PyTorch") {
    CHECK_THAT(as_numbers(attn::causal_mask(5)), IsClose(ref().matrix("causal.T5"), 0));
    CHECK_THAT(as_numbers(attn::sliding_window_mask(7, 3)),
               IsClose(ref().matrix("window.T7_w3"), 0));
    CHECK_THAT(as_numbers(attn::padded_causal_masks({4, 2, 1}, 4)),
               IsClose(ref().tensor3("padding.masks"), 0));
}

TEST_CASE("apply_mask puts -inf exactly where PyTorch's masked_fill does") {
    CHECK_THAT(attn::apply_mask(ref().matrix("masked_softmax.scores"),
                                ref().mask("masked_softmax.allowed")),
               IsClose(ref().matrix("masked_softmax.masked_scores"), 0));
}

TEST_CASE("masked_softmax: PyTorch values, masked weights exactly 0, a fully masked row is zeros") {
    const Matrix w = attn::masked_softmax(ref().matrix("masked_softmax.scores"),
                                          ref().mask("masked_softmax.allowed"));
    CHECK_THAT(w, IsClose(ref().matrix("masked_softmax.weights")));
    const Mask allowed = ref().mask("masked_softmax.allowed");
    for (std::size_t i = 0; i < w.size(); ++i)
        if (!allowed.data()[i]) CHECK(w.data()[i] == 0.0f);
    for (float x : xt::row(w, 2)) CHECK(x == 0.0f);
}

TEST_CASE("masked_softmax is stable for scores of +-1e4 and keeps NaN visible") {
    const Mask allowed = attn::causal_mask(3);
    const Matrix w = attn::masked_softmax(
        Matrix{{1e4f, -1e4f, 5}, {-1e4f, 1e4f, 0}, {1e4f, 1e4f, 1e4f}}, allowed);
    CHECK_THAT(w, IsClose(Matrix{{1, 0, 0}, {0, 1, 0}, {1.0f / 3, 1.0f / 3, 1.0f / 3}}));
    const Matrix with_nan =
        attn::masked_softmax(Matrix{{1, 2}, {std::nanf(""), 1}}, Mask{{true, false}, {true, true}});
    CHECK(std::isnan(with_nan(1, 0)));
    CHECK(with_nan(0, 0) == 1.0f);
}

TEST_CASE("masked_attention and causal_self_attention match PyTorch") {
    const attn::AttentionResult r = attn::masked_attention(
        ref().matrix("masked_attention.queries"), ref().matrix("masked_attention.keys"),
        ref().matrix("masked_attention.values"), ref().mask("masked_attention.allowed"));
    CHECK_THAT(r.weights, IsClose(ref().matrix("masked_attention.weights")));
    CHECK_THAT(r.output, IsClose(ref().matrix("masked_attention.output")));
    const attn::Projections p{ref().matrix("causal_self_attention.w_q"),
                              ref().matrix("causal_self_attention.w_k"),
                              ref().matrix("causal_self_attention.w_v")};
    const attn::AttentionResult c =
        attn::causal_self_attention(ref().matrix("causal_self_attention.x"), p);
    CHECK_THAT(c.weights, IsClose(ref().matrix("causal_self_attention.weights")));
    CHECK_THAT(c.output, IsClose(ref().matrix("causal_self_attention.output")));
    CHECK_THAT(c.weights, AreWeights<2>());
}

TEST_CASE("the output at position t does not change when any token after t changes") {
    attn::Rng rng(21);
    const std::size_t T = 9;
    const Matrix x = attn::random_normal(T, 8, rng);
    const attn::Projections p = attn::random_projections(8, 4, 4, rng);
    const Matrix out = attn::causal_self_attention(x, p).output;
    for (std::size_t changed = 0; changed < T; ++changed) {
        Matrix y = x;
        xt::row(y, changed) = attn::random_normal(8, rng);
        const Matrix out_y = attn::causal_self_attention(y, p).output;
        CAPTURE(changed);
        for (std::size_t t = 0; t < changed; ++t) {
            CAPTURE(t);
            CHECK_THAT(Matrix(xt::view(out_y, xt::range(t, t + 1), xt::all())),
                       IsClose(Matrix(xt::view(out, xt::range(t, t + 1), xt::all())), 0.0f));
        }
        // and the changed position itself does change: the test can fail
        CHECK(xt::amax(xt::abs(xt::row(out_y, changed) - xt::row(out, changed)))() > 1e-4f);
    }
}

TEST_CASE("chapter 03 functions reject bad input, naming function, argument and values") {
    CHECK_THROWS_MATCHES(attn::causal_mask(0), std::invalid_argument,
                         NamesShapeError("attn::causal_mask", "0"));
    CHECK_THROWS_MATCHES(attn::sliding_window_mask(3, 0), std::invalid_argument,
                         NamesShapeError("attn::sliding_window_mask", "window"));
    CHECK_THROWS_MATCHES(attn::padded_causal_masks({1, 5}, 4), std::invalid_argument,
                         NamesShapeError("attn::padded_causal_masks", "got 5"));
    CHECK_THROWS_MATCHES(attn::padded_causal_masks({}, 4), std::invalid_argument,
                         NamesShapeError("attn::padded_causal_masks", "lengths"));
    CHECK_THROWS_MATCHES(attn::apply_mask(Matrix::from_shape({2, 3}), Mask::from_shape({3, 2})),
                         std::invalid_argument, NamesShapeError("attn::apply_mask", "[3, 2]"));
    CHECK_THROWS_MATCHES(attn::masked_softmax(Matrix::from_shape({2, 3}), Mask::from_shape({2, 2})),
                         std::invalid_argument, NamesShapeError("attn::masked_softmax", "[2, 2]"));
    CHECK_THROWS_MATCHES(
        attn::causal_self_attention(Matrix::from_shape({0, 8}), attn::designed_head()),
        std::invalid_argument, NamesShapeError("attn::causal_self_attention:", "[0, 8]"));
    const Matrix q = Matrix::from_shape({2, 4});
    CHECK_THROWS_MATCHES(attn::masked_attention(q, q, q, Mask::from_shape({2, 3})),
                         std::invalid_argument,
                         NamesShapeError("attn::masked_attention", "[2, 3]"));
}
