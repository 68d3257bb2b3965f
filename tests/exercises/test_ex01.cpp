// Tests for the chapter 01 exercises. They read as the specification of each exercise;
// the tag ([1.2]) is the exercise's number, which `make check` uses to group them.
//
// Expected values: the worked examples of exercises.hpp (computed by hand and checked
// with Python's math module) and tests/reference/ch01.txt (PyTorch, see generate.py).
#include "exercises.hpp"

#include "chapters/01_single_head_attention/single_head_attention.hpp"
#include "every_size.hpp"
#include "matchers.hpp"
#include "reference.hpp"
#include "unchanged.hpp"

#include <xtensor/xbuilder.hpp>
#include <xtensor/xview.hpp>

#include <cmath>
#include <limits>

using attn::Matrix;
using attn::Vector;
using attn::test::AreWeights;
using attn::test::IsClose;
using attn::test::Reference;
// The exercises as the tests call them (ex::name): each call fails the test when the answer
// changes an argument it takes by const reference (tests/support/unchanged.hpp).
namespace ex {
using namespace attn::ex01;  // the exercises' types
using attn::test::KeepsInputs;
constexpr KeepsInputs<&attn::ex01::dot_scores> dot_scores{"dot_scores", "query", "keys"};
constexpr KeepsInputs<&attn::ex01::stable_softmax> stable_softmax{"stable_softmax", "logits"};
constexpr KeepsInputs<&attn::ex01::attend> attend{"attend", "query", "keys", "values"};
constexpr KeepsInputs<&attn::ex01::attention_weights> attention_weights{"attention_weights",
                                                                        "queries", "keys"};
}  // namespace ex

namespace {
// 1.3: the scores scaled by the values' width: the query scaled by sqrt(d_k / d_v) gives
// exactly that through the library's attend (which refuses what the answer must refuse).
Vector scaled_by_d_v(const Vector& query, const Matrix& keys, const Matrix& values) {
    const float factor = std::sqrt(static_cast<float>(query.size()) /
                                   static_cast<float>(values.shape(1) == 0 ? 1 : values.shape(1)));
    attn::attend(query, keys, values);  // throws where the answer must
    return attn::attend(Vector(query * factor), keys, values).output;
}
const attn::test::MistakeFormulas<&attn::ex01::attend> attend_mistakes{
    {"the scores are divided by sqrt(d_v), the values' width; the scale is 1/sqrt(d_k), the "
     "width of the query and the keys",
     &scaled_by_d_v}};
}  // namespace

namespace {
const Reference& ref() {
    return Reference::load("ch01");
}
}  // namespace

// ---------------------------------------------------------------- 1.1 dot-product scores

TEST_CASE("1.1 dot_scores: the worked example", "[1.1]") {
    const Vector query{1, 0, 2};
    const Matrix keys{{1, 1, 1}, {0, 2, 0}, {3, 0, -1}};
    const Vector scaled = Vector{3, 0, 1} / std::sqrt(3.0f);
    CHECK_THAT(ex::dot_scores(query, keys),
               IsClose(Vector{3, 0, 1})
                   .or_mistake(scaled,
                               "the scores are divided by sqrt(d_k): dot_scores returns raw "
                               "dot products; scaling comes in exercise 1.3"));
}

TEST_CASE("1.1 dot_scores: one score per key, matching PyTorch", "[1.1]") {
    CHECK_THAT(ex::dot_scores(ref().vector("dot_scores.query"), ref().matrix("dot_scores.keys")),
               IsClose(ref().vector("dot_scores.scores"))
                   .or_mistake(
                       ref().vector("dot_scores.scaled"),
                       "the scores are divided by sqrt(d_k): dot_scores returns raw dot products"));
}

TEST_CASE("1.1 dot_scores: rejects keys whose d_k differs from the query's", "[1.1]") {
    CHECK_SHAPE_ERROR(ex::dot_scores(Vector{1, 2, 3}, Matrix{{1, 2}, {3, 4}}), "dot_scores",
                      "[2, 2]", "query [3] and keys [2, 2] have different d_k");
    CHECK_SHAPE_ERROR(ex::dot_scores(Vector{1, 2}, Matrix::from_shape({0, 2})), "dot_scores",
                      "[0, 2]", "keys [0, 2] holds no key (T must be at least 1)");
}

TEST_CASE("1.1 dot_scores: rejects an empty query", "[1.1]") {
    CHECK_SHAPE_ERROR(ex::dot_scores(Vector::from_shape({0}), Matrix::from_shape({2, 0})),
                      "dot_scores", "[0]", "an empty query [0] has no d_k to score with");
}

// ---------------------------------------------------------------- 1.2 stable softmax

TEST_CASE("1.2 stable_softmax: weights are in [0, 1] and sum to one", "[1.2]") {
    const Vector logits = ref().vector("softmax.logits");
    CHECK_THAT(ex::stable_softmax(logits), AreWeights<1>().with_shape_of(logits));
    CHECK_THAT(ex::stable_softmax(Vector{0.5f}), IsClose(Vector{1.0f}));
}

TEST_CASE("1.2 stable_softmax: the worked example", "[1.2]") {
    const Vector expected{0.0900305732f, 0.244728471f, 0.665240956f};
    CHECK_THAT(
        ex::stable_softmax(Vector{1, 2, 3}),
        IsClose(expected)
            .or_mistake(Vector{2.71828183f, 7.3890561f, 20.0855369f},
                        "returns e^x without dividing by the sum of the exponentials")
            .or_mistake(Vector{0.135335283f, 0.367879441f, 1.0f},
                        "returns e^(x - max) without dividing by the sum of the exponentials"));
    CHECK_THAT(ex::stable_softmax(Vector{1001, 1002, 1003}),
               IsClose(expected).or_mistake_if_not_finite(
                   "unstable softmax: e^x overflows for large logits; subtract the maximum logit "
                   "before exp"));
}

TEST_CASE("1.2 stable_softmax: logits of +-1e4 do not overflow", "[1.2]") {
    CHECK_THAT(ex::stable_softmax(ref().vector("softmax_large.logits")),
               IsClose(ref().vector("softmax_large.weights"))
                   .or_mistake_if_not_finite("unstable softmax: e^x overflows for large logits; "
                                             "subtract the maximum logit before exp"));
    CHECK_THAT(ex::stable_softmax(ref().vector("softmax_negative.logits")),
               IsClose(ref().vector("softmax_negative.weights"))
                   .or_mistake_if_not_finite(
                       "the weights are not finite. Likely causes: e^-10000 underflowed to 0 "
                       "for every logit and 0/0 is NaN (subtract the maximum logit before exp), "
                       "or the exponentials were divided by another sum (of other "
                       "exponentials, e.g. e^x where the numerators are e^(x - max))"));
}

TEST_CASE("1.2 stable_softmax: logits hundreds apart (e^x overflows beyond x = 88)", "[1.2]") {
    // e^(x - c) stays finite only when no logit exceeds c by more than ~88: c must be the maximum.
    CHECK_THAT(ex::stable_softmax(Vector{100, 0, 300}),
               IsClose(Vector{0, 0, 1})
                   .or_mistake_if_not_finite(
                       "e^(x - c) overflowed: subtract the maximum logit, not another constant "
                       "(the first logit, the mean, ...), so that every exponent is at most 0"));
}

TEST_CASE("1.2 stable_softmax: matches PyTorch", "[1.2]") {
    CHECK_THAT(ex::stable_softmax(ref().vector("softmax.logits")),
               IsClose(ref().vector("softmax.weights"))
                   .or_mistake(ref().vector("softmax.unnormalized"),
                               "returns e^x without dividing by the sum of the exponentials"));
}

TEST_CASE("1.2 stable_softmax: rejects an empty vector", "[1.2]") {
    CHECK_SHAPE_ERROR(ex::stable_softmax(Vector::from_shape({0})), "stable_softmax", "[0]",
                      "softmax of no logits is undefined");
}

// ---------------------------------------------------------------- 1.3 one query attends

TEST_CASE("1.3 attend: the worked example", "[1.3]") {
    // Keys, values and weights all differ, so each known mistake gives its own numbers.
    const Vector query{1, 2};
    const Matrix keys{{1, 0}, {0, 1}, {1, 1}};
    const Matrix values{{1, 0, 2}, {0, 3, 1}, {2, 1, 0}};
    CHECK_THAT(
        ex::attend(query, keys, values),
        IsClose(Vector{1.29197994f, 1.42796157f, 0.56405390f}, 1e-5f)
            .or_mistake(Vector{1.42051248f, 1.39942637f, 0.42478962f},
                        "missing 1/sqrt(d_k): divide the scores by sqrt(d_k) before softmax")
            .or_mistake(Vector{0.14002925f, 0.28399541f, 0.57597535f},
                        "returns the weights; the output is the weighted sum of the values")
            .or_mistake(Vector{1.0f / 3, 1.0f / 3, 1.0f / 3},
                        "the weights are all equal: the scores were lost before the softmax"));
}

TEST_CASE("1.3 attend: a key that matches far better than the others hands over its value",
          "[1.3]") {
    const Vector query{20, 0, 0, 0};
    const Matrix keys{{0, 1, 0, 0}, {1, 0, 0, 0}, {0, 0, 1, 0}};
    const Matrix values{{1, 2}, {3, 4}, {5, 6}};
    CHECK_THAT(ex::attend(query, keys, values), IsClose(Vector{3, 4}, 1e-3f));
}

TEST_CASE("1.3 attend: matches PyTorch, and leaves its inputs unchanged", "[1.3]") {
    // ex::attend compares query, keys and values after the call (unchanged.hpp).
    const Vector query = ref().vector("attend.query");
    const Matrix keys = ref().matrix("attend.keys");
    const Matrix values = ref().matrix("attend.values");
    CHECK_THAT(
        ex::attend(query, keys, values),
        IsClose(ref().vector("attend.output"))
            .or_mistake(ref().vector("attend.output_unscaled"),
                        "missing 1/sqrt(d_k): divide the scores by sqrt(d_k) before softmax"));
}

TEST_CASE("1.3 attend: rejects keys and values that do not fit", "[1.3]") {
    const Vector query{1, 0};
    CHECK_SHAPE_ERROR(ex::attend(query, Matrix{{1, 0, 0}}, Matrix{{1}}), "attend", "[1, 3]",
                      "keys [1, 3] have d_k = 3 but the query [2] has d_k = 2");
    CHECK_SHAPE_ERROR(ex::attend(query, Matrix{{1, 0}, {0, 1}}, Matrix{{1, 2}}), "attend", "[1, 2]",
                      "2 keys but values [1, 2] has 1 row: every key needs a value");
}

// ---------------------------------------------------------------- 1.4 attention weights

TEST_CASE("1.4 attention_weights: the worked example", "[1.4]") {
    // 2 queries and 3 keys: a transposed result has the wrong shape, and the row and column
    // softmax differ.
    const Matrix queries{{1, 0}, {0, 2}};
    const Matrix keys{{1, 0}, {0, 1}, {1, 1}};
    const Matrix weights = ex::attention_weights(queries, keys);
    CHECK_THAT(weights, AreWeights<2>().with_shape_of(Matrix::from_shape({2, 3})));
    CHECK_THAT(weights,
               IsClose(Matrix{{0.40111209f, 0.19777581f, 0.40111209f},
                              {0.10838345f, 0.44580827f, 0.44580827f}})
                   .or_mistake(Matrix{{0.42231880f, 0.15536240f, 0.42231880f},
                                      {0.06337894f, 0.46831053f, 0.46831053f}},
                               "missing 1/sqrt(d_k): divide the scores by sqrt(d_k) before softmax")
                   .or_mistake(Matrix{{0.66976155f, 0.19557032f, 0.33023845f},
                                      {0.33023845f, 0.80442968f, 0.66976155f}},
                               "softmax over the wrong axis: each row (one query) must sum to one, "
                               "not each column"));
}

TEST_CASE("1.4 attention_weights: scores hundreds apart do not overflow", "[1.4]") {
    // Scaled scores 70.7, 0 and 212: e^(x - c) stays finite only when c is the row's maximum.
    CHECK_THAT(ex::attention_weights(Matrix{{100, 0}}, Matrix{{1, 0}, {0, 1}, {3, 0}}),
               IsClose(Matrix{{0, 0, 1}})
                   .or_mistake_if_not_finite(
                       "e^(x - c) overflowed: subtract each row's maximum score before exp"));
}

TEST_CASE("1.4 attention_weights: every row is a distribution over the keys", "[1.4]") {
    const Matrix scores = ref().matrix("attention.scores");  // [T_q, T_k]
    CHECK_THAT(
        ex::attention_weights(ref().matrix("attention.queries"), ref().matrix("attention.keys")),
        AreWeights<2>().with_shape_of(scores));
}

TEST_CASE("1.4 attention_weights: matches PyTorch", "[1.4]") {
    CHECK_THAT(
        ex::attention_weights(ref().matrix("attention.queries"), ref().matrix("attention.keys")),
        IsClose(ref().matrix("attention.weights"))
            .or_mistake(ref().matrix("attention.weights_unscaled"),
                        "missing 1/sqrt(d_k): divide the scores by sqrt(d_k) before softmax")
            .or_mistake(ref().matrix("attention.weights_column_softmax"),
                        "softmax over the wrong axis: each row (one query) must sum to one, "
                        "not each column"));
}

TEST_CASE("1.4 attention_weights: rejects queries and keys of different d_k", "[1.4]") {
    CHECK_SHAPE_ERROR(ex::attention_weights(Matrix{{1, 0}}, Matrix{{1, 0, 0}}), "attention_weights",
                      "[1, 3]", "queries [1, 2] and keys [1, 3] have different d_k");
    CHECK_SHAPE_ERROR(ex::attention_weights(Matrix::from_shape({0, 2}), Matrix{{1, 0}}),
                      "attention_weights", "[0, 2]", "queries [0, 2] holds no query");
    CHECK_SHAPE_ERROR(ex::attention_weights(Matrix{{1, 0}}, Matrix::from_shape({0, 2})),
                      "attention_weights", "[0, 2]", "keys [0, 2] holds no key");
}

// ---------------------------------------------------------------- every size, smallest first
//
// Each exercise on inputs of growing size, against chapter 01's own functions; a failure shows
// the smallest input that fails, whole. Last come inputs hundreds apart, where e^x overflows
// unless the maximum is subtracted first.

using attn::test::check_every_size;
using attn::test::Dims;
using attn::test::dims_up_to;
using attn::test::named;
using attn::test::readable_matrix;
using attn::test::readable_vector;
using attn::test::Trial;

namespace {
std::string sizes(std::size_t T, std::size_t d) {
    return "T = " + std::to_string(T) + ", d_k = " + std::to_string(d);
}
// The sweep's sizes, then the largest again with every number times 100.
std::vector<Dims> with_large(std::vector<Dims> dims) {
    const Dims last = dims.back();
    dims.push_back({last.T, last.d + 100});  // d + 100 marks "large numbers"
    return dims;
}
float magnitude(const Dims& s) {
    return s.d > 100 ? 100.0f : 1.0f;
}
std::size_t width(const Dims& s) {
    return s.d > 100 ? s.d - 100 : s.d;
}
}  // namespace

TEST_CASE("1.1 dot_scores: every size from T = 1, d_k = 1 (the smallest failing input is shown)",
          "[1.1]") {
    check_every_size<1>(dims_up_to(4, 4), [](const Dims& s, Trial<1>& t) {
        const Vector q = readable_vector(s.d, 1);
        const Matrix keys = readable_matrix(s.T, s.d, 2);
        t.input = sizes(s.T, s.d) + "\n" + named("query", q) + "\n" + named("keys", keys);
        t.expected = attn::dot_scores(q, keys);
        t.actual = ex::dot_scores(q, keys);
    });
}

TEST_CASE("1.2 stable_softmax: every length from 1, then logits hundreds apart", "[1.2]") {
    check_every_size<1>(with_large(dims_up_to(1, 6)), [](const Dims& s, Trial<1>& t) {
        const Vector logits = readable_vector(width(s), 3) * magnitude(s);
        t.input = "n = " + std::to_string(width(s)) + "\n" + named("logits", logits);
        t.expected = attn::softmax(logits);
        t.actual = ex::stable_softmax(logits);
    });
}

TEST_CASE("1.3 attend: every size from T = 1, d_k = 1, then scores hundreds apart", "[1.3]") {
    check_every_size<1>(with_large(dims_up_to(4, 3)), [](const Dims& s, Trial<1>& t) {
        const Vector q = readable_vector(width(s), 4) * magnitude(s);
        const Matrix keys = readable_matrix(s.T, width(s), 5);
        const Matrix values = readable_matrix(s.T, 2, 6);
        t.input = sizes(s.T, width(s)) + ", d_v = 2\n" + named("query", q) + "\n" +
                  named("keys", keys) + "\n" + named("values", values);
        t.expected = attn::attend(q, keys, values).output;
        {
            const Matrix q_row = xt::view(q, xt::newaxis(), xt::all());
            for (auto& [name, answer] : attn::test::attention_variants(q_row, keys, values))
                t.variants.push_back({name, xt::view(answer, 0, xt::all())});
        }
        t.actual = ex::attend(q, keys, values);
    });
}

TEST_CASE("1.4 attention_weights: every size from T = 1, d_k = 1, then scores hundreds apart",
          "[1.4]") {
    check_every_size<2>(with_large(dims_up_to(3, 3)), [](const Dims& s, Trial<2>& t) {
        const Matrix q = readable_matrix(s.T, width(s), 7) * magnitude(s);
        const Matrix keys = readable_matrix(s.T + 1, width(s), 8);
        t.input = "T_q = " + std::to_string(s.T) + ", T_k = " + std::to_string(s.T + 1) +
                  ", d_k = " + std::to_string(width(s)) + "\n" + named("queries", q) + "\n" +
                  named("keys", keys);
        t.expected = attn::softmax_rows(attn::scaled_scores(q, keys));
        // Weights are attention with V = I: the usual wrong scales and axis, as weights.
        t.variants = attn::test::attention_variants(q, keys, xt::eye<float>(keys.shape(0)));
        t.actual = ex::attention_weights(q, keys);
    });
}
