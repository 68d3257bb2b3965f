// Tests for the chapter 03 exercises; the tag ([3.1]) is the exercise's number.
//
// Expected values: the worked examples of exercises.hpp (by hand, checked with Python) and
// tests/reference/ch03.txt (PyTorch, see generate.py). Masks compare as 0/1 numbers.
#include "exercises.hpp"

#include "chapters/03_causal_masking/causal_masking.hpp"
#include "every_size.hpp"
#include "matchers.hpp"
#include "reference.hpp"
#include "unchanged.hpp"

#include <xtensor/xview.hpp>

#include <cmath>

using attn::Mask;
using attn::Matrix;
using attn::test::AreWeights;
using attn::test::as_numbers;
using attn::test::IsClose;
using attn::test::Reference;
// The exercises as the tests call them (ex::name): each call fails the test when the answer
// changes an argument it takes by const reference (tests/support/unchanged.hpp).
namespace ex {
using namespace attn::ex03;  // the exercises' types
using attn::test::KeepsInputs;
constexpr KeepsInputs<&attn::ex03::causal_mask> causal_mask{"causal_mask", "T"};
constexpr KeepsInputs<&attn::ex03::masked_softmax> masked_softmax{"masked_softmax", "scores",
                                                                  "allowed"};
constexpr KeepsInputs<&attn::ex03::sliding_window_mask> sliding_window_mask{"sliding_window_mask",
                                                                            "T", "window"};
constexpr KeepsInputs<&attn::ex03::padded_causal_masks> padded_causal_masks{"padded_causal_masks",
                                                                            "lengths", "T"};
}  // namespace ex

namespace {
const Reference& ref() {
    return Reference::load("ch03");
}
constexpr const char* after_softmax =
    "mask applied after the softmax: set the masked scores to -inf before it, so the allowed "
    "weights still sum to one and the future cannot leak in through the sum";
constexpr const char* off_by_one_diagonal =
    "off by one on the diagonal: a token may attend to itself (j <= i, not j < i)";
constexpr const char* transposed_mask =
    "the mask is transposed: rows are queries, so query i (row i) sees the keys j <= i (columns)";
constexpr const char* uninitialised =
    "a mask cell was never written: Mask::from_shape (like every xtensor from_shape) leaves "
    "the memory as it was; start from xt::zeros<bool>(...) and set the allowed cells, or "
    "write every cell";
constexpr const char* fully_masked_nan =
    "a row with every key masked gave NaN (0/0): return zeros for such a row. If you test the "
    "row's maximum for -inf: xt::amax of an all -inf row returns -3.40282e+38 (the lowest "
    "float), not -inf; test whether the sum of the exponentials is 0 instead";

// A mask compared cell by cell, exactly; a cell that is neither true nor false is named.
template <std::size_t N>
attn::test::IsCloseMatcher<N> IsMask(const xt::xtensor<float, N>& expected) {
    return IsClose(expected, 0).or_mistake_if_not_binary(uninitialised);
}

// The mask a function returns, on a heap whose free memory holds garbage (see dirty_heap).
template <class F>
auto fresh(F make_mask) {
    attn::test::dirty_heap();
    return as_numbers(make_mask());
}
}  // namespace

// ---------------------------------------------------------------- 3.1 causal mask

TEST_CASE("3.1 causal_mask: the worked example", "[3.1]") {
    CHECK_THAT(fresh([] { return ex::causal_mask(3); }),
               IsMask(Matrix{{1, 0, 0}, {1, 1, 0}, {1, 1, 1}})
                   .or_mistake(Matrix{{0, 0, 0}, {1, 0, 0}, {1, 1, 0}}, off_by_one_diagonal)
                   .or_mistake(Matrix{{1, 1, 1}, {0, 1, 1}, {0, 0, 1}}, transposed_mask));
}

TEST_CASE("3.1 causal_mask: matches PyTorch's tril", "[3.1]") {
    CHECK_THAT(fresh([] { return ex::causal_mask(5); }),
               IsMask(ref().matrix("causal.T5"))
                   .or_mistake(ref().matrix("causal.T5_strict"), off_by_one_diagonal)
                   .or_mistake(ref().matrix("causal.T5_upper"), transposed_mask));
}

TEST_CASE("3.1 causal_mask: a single token sees itself", "[3.1]") {
    CHECK_THAT(as_numbers(ex::causal_mask(1)), IsMask(Matrix{{1}}));
}

TEST_CASE("3.1 causal_mask: rejects T = 0", "[3.1]") {
    CHECK_SHAPE_ERROR(ex::causal_mask(0), "causal_mask", "0",
                      "a sequence needs at least one token");
}

// ---------------------------------------------------------------- 3.2 masked softmax

TEST_CASE("3.2 masked_softmax: the worked example", "[3.2]") {
    const Matrix scores{{1, 2, 3}, {1, 2, 3}};
    const Mask allowed{{true, true, false}, {false, false, false}};
    CHECK_THAT(ex::masked_softmax(scores, allowed),
               IsClose(Matrix{{0.268941421f, 0.731058579f, 0}, {0, 0, 0}})
                   .or_mistake(Matrix{{0.0900305732f, 0.244728471f, 0}, {0, 0, 0}}, after_softmax)
                   .or_mistake_if_not_finite(fully_masked_nan));
    // Scores hundreds apart: e^(x - c) stays finite only when c is the row's maximum.
    CHECK_THAT(ex::masked_softmax(Matrix{{100, 0, 300, 500}}, Mask{{true, true, true, false}}),
               IsClose(Matrix{{0, 0, 1, 0}})
                   .or_mistake_if_not_finite(
                       "e^(x - c) overflowed: subtract the maximum of the row's allowed scores "
                       "before exp"));
}

TEST_CASE("3.2 masked_softmax: matches PyTorch", "[3.2]") {
    CHECK_THAT(
        ex::masked_softmax(ref().matrix("masked_softmax.scores"),
                           ref().mask("masked_softmax.allowed")),
        IsClose(ref().matrix("masked_softmax.weights"))
            .or_mistake(ref().matrix("masked_softmax.after_softmax"), after_softmax)
            .or_mistake(ref().matrix("masked_softmax.zero_filled"),
                        "masked scores set to 0 instead of -inf: e^0 = 1, so masked keys still "
                        "get weight")
            .or_mistake_if_not_finite(fully_masked_nan));
}

TEST_CASE("3.2 masked_softmax: masked weights are exactly 0, allowed ones sum to one", "[3.2]") {
    const Matrix scores = ref().matrix("masked_attention.queries");  // any [5, 4] numbers
    Mask allowed = xt::ones<bool>({5, 4});
    allowed(0, 1) = allowed(0, 3) = allowed(2, 0) = allowed(4, 2) = false;
    const Matrix w = ex::masked_softmax(scores * 30.0f, allowed);
    REQUIRE_THAT(w, AreWeights<2>().with_shape_of(scores));
    for (std::size_t i = 0; i < w.size(); ++i) {
        if (!allowed.data()[i]) {
            INFO("element " << i / 4 << ", " << i % 4 << " is masked but has weight "
                            << w.data()[i]);
            CHECK(w.data()[i] == 0.0f);
        }
    }
}

TEST_CASE("3.2 masked_softmax: rejects a mask of another shape", "[3.2]") {
    CHECK_SHAPE_ERROR(ex::masked_softmax(Matrix{{1, 2}, {3, 4}}, Mask{{true, false, true}}),
                      "masked_softmax", "[1, 3]", "scores are [2, 2] but the mask is [1, 3]");
    CHECK_SHAPE_ERROR(ex::masked_softmax(Matrix::from_shape({0, 2}), Mask::from_shape({0, 2})),
                      "masked_softmax", "[0, 2]", "scores [0, 2] hold no row");
}

// ---------------------------------------------------------------- 3.3 sliding window

TEST_CASE("3.3 sliding_window_mask: the worked example", "[3.3]") {
    CHECK_THAT(fresh([] { return ex::sliding_window_mask(4, 2); }),
               IsMask(Matrix{{1, 0, 0, 0}, {1, 1, 0, 0}, {0, 1, 1, 0}, {0, 0, 1, 1}})
                   .or_mistake(Matrix{{1, 0, 0, 0}, {1, 1, 0, 0}, {1, 1, 1, 0}, {0, 1, 1, 1}},
                               "off by one: the window holds `window` tokens including the query "
                               "itself (i - j < window, not <=)"));
}

TEST_CASE("3.3 sliding_window_mask: matches PyTorch", "[3.3]") {
    CHECK_THAT(fresh([] { return ex::sliding_window_mask(7, 3); }),
               IsMask(ref().matrix("window.T7_w3"))
                   .or_mistake(ref().matrix("window.T7_w3_wide"),
                               "off by one: the window holds `window` tokens including the query "
                               "itself (i - j < window, not <=)")
                   .or_mistake(ref().matrix("window.T7_w3_symmetric"),
                               "not causal: the window looks back only, keys j > i stay masked"));
}

TEST_CASE("3.3 sliding_window_mask: a window of T is the causal mask, of 1 the diagonal", "[3.3]") {
    CHECK_THAT(as_numbers(ex::sliding_window_mask(5, 5)), IsMask(ref().matrix("causal.T5")));
    CHECK_THAT(as_numbers(ex::sliding_window_mask(5, 9)), IsMask(ref().matrix("causal.T5")));
    CHECK_THAT(as_numbers(ex::sliding_window_mask(3, 1)), IsMask(Matrix(xt::eye<float>(3))));
}

TEST_CASE("3.3 sliding_window_mask: rejects T = 0 and window = 0", "[3.3]") {
    CHECK_SHAPE_ERROR(ex::sliding_window_mask(0, 2), "sliding_window_mask", "0",
                      "a sequence needs at least one token");
    CHECK_SHAPE_ERROR(ex::sliding_window_mask(4, 0), "sliding_window_mask", "window",
                      "a window of 0 tokens would not even let a token see itself");
}

// ---------------------------------------------------------------- 3.4 padded batch

TEST_CASE("3.4 padded_causal_masks: the worked example", "[3.4]") {
    const attn::Tensor3 expected{{{1, 0, 0}, {1, 1, 0}, {1, 1, 1}},
                                 {{1, 0, 0}, {1, 0, 0}, {1, 0, 0}}};
    CHECK_THAT(
        fresh([] {
            return ex::padded_causal_masks({3, 1}, 3);
        }),
        IsMask(expected).or_mistake(
            attn::Tensor3{{{1, 0, 0}, {1, 1, 0}, {1, 1, 1}}, {{1, 0, 0}, {0, 0, 0}, {0, 0, 0}}},
            "padding masks the queries (rows) instead of the keys (columns): "
            "key j is padding when j >= length"));
}

TEST_CASE("3.4 padded_causal_masks: matches PyTorch", "[3.4]") {
    CHECK_THAT(fresh([] {
                   return ex::padded_causal_masks({4, 2, 1}, 4);
               }),
               IsMask(ref().tensor3("padding.masks"))
                   .or_mistake(ref().tensor3("padding.masks_query"),
                               "padding masks the queries (rows) instead of the keys (columns)")
                   .or_mistake(ref().tensor3("padding.masks_not_causal"),
                               "not causal: combine the padding rule with j <= i"));
}

TEST_CASE("3.4 padded_causal_masks: rejects lengths outside 1..T", "[3.4]") {
    CHECK_SHAPE_ERROR(ex::padded_causal_masks({2, 5}, 4), "padded_causal_masks", "5",
                      "a sequence of length 5 does not fit in T = 4");
    CHECK_SHAPE_ERROR(ex::padded_causal_masks({2, 0}, 4), "padded_causal_masks", "0",
                      "a sequence of length 0 has no token");
    CHECK_SHAPE_ERROR(ex::padded_causal_masks({}, 4), "padded_causal_masks", "lengths",
                      "an empty batch");
    CHECK_SHAPE_ERROR(ex::padded_causal_masks({1}, 0), "padded_causal_masks", "0",
                      "T = 0 leaves room for no token");
}

// ---------------------------------------------------------------- every size, smallest first
//
// Each exercise on inputs of growing size, against chapter 03's own functions; a failure shows
// the smallest input that fails, whole (masks as 1 for true, 0 for false).

using attn::test::check_every_size;
using attn::test::Dims;
using attn::test::named;
using attn::test::readable_matrix;
using attn::test::Trial;

TEST_CASE("3.1 causal_mask: every T from 1 (the smallest failing input is shown)", "[3.1]") {
    std::vector<Dims> sizes;
    for (std::size_t T = 1; T <= 6; ++T) sizes.push_back({T, 0});
    check_every_size<2>(
        sizes,
        [](const Dims& s, Trial<2>& t) {
            attn::test::dirty_heap();
            t.input = "T = " + std::to_string(s.T);
            t.expected = as_numbers(attn::causal_mask(s.T));
            t.actual = as_numbers(ex::causal_mask(s.T));
        },
        0);
}

TEST_CASE(
    "3.2 masked_softmax: every size from 1 x 1, causal, windowed, with a row fully masked, "
    "then scores hundreds apart",
    "[3.2]") {
    // d: 0 causal, 1 window of 2, 2 the last row fully masked, 3 causal with scores x 100.
    std::vector<Dims> sizes;
    for (std::size_t T = 1; T <= 4; ++T)
        for (std::size_t kind = 0; kind <= 3; ++kind) sizes.push_back({T, kind});
    check_every_size<2>(sizes, [](const Dims& s, Trial<2>& t) {
        const Matrix scores = readable_matrix(s.T, s.T, 1) * (s.d == 3 ? 100.0f : 1.0f);
        Mask allowed = s.d == 1 ? attn::sliding_window_mask(s.T, 2) : attn::causal_mask(s.T);
        if (s.d == 2) xt::view(allowed, s.T - 1, xt::all()) = false;
        const char* kinds[] = {"causal", "a window of 2", "causal, the last row fully masked",
                               "causal, scores x 100"};
        t.input = "T = " + std::to_string(s.T) + ", " + kinds[s.d] + "\n" +
                  named("scores", scores) + "\n" + named("allowed", as_numbers(allowed));
        t.expected = attn::masked_softmax(scores, allowed);
        t.actual = ex::masked_softmax(scores, allowed);
    });
}

TEST_CASE("3.3 sliding_window_mask: every T and window from 1", "[3.3]") {
    std::vector<Dims> sizes;
    for (std::size_t T = 1; T <= 5; ++T)
        for (std::size_t window = 1; window <= T + 1; ++window) sizes.push_back({T, window});
    check_every_size<2>(
        sizes,
        [](const Dims& s, Trial<2>& t) {
            attn::test::dirty_heap();
            t.input = "T = " + std::to_string(s.T) + ", window = " + std::to_string(s.d);
            t.expected = as_numbers(attn::sliding_window_mask(s.T, s.d));
            t.actual = as_numbers(ex::sliding_window_mask(s.T, s.d));
        },
        0);
}

TEST_CASE("3.4 padded_causal_masks: every T from 1, sequences of every length", "[3.4]") {
    std::vector<Dims> sizes;
    for (std::size_t T = 1; T <= 4; ++T)
        for (std::size_t shortest = 1; shortest <= T; ++shortest) sizes.push_back({T, shortest});
    check_every_size<3>(
        sizes,
        [](const Dims& s, Trial<3>& t) {
            attn::test::dirty_heap();
            const std::vector<std::size_t> lengths{s.T, s.d};
            t.slices = "sequence";
            t.input = "T = " + std::to_string(s.T) + ", lengths = {" + std::to_string(s.T) + ", " +
                      std::to_string(s.d) + "}";
            t.expected = as_numbers(attn::padded_causal_masks(lengths, s.T));
            t.actual = as_numbers(ex::padded_causal_masks(lengths, s.T));
        },
        0);
}
