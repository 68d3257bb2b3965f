// Tests for the chapter 02 exercises; the tag ([2.1]) is the exercise's number.
//
// Expected values: the worked examples of exercises.hpp (by hand, checked with Python) and
// tests/reference/ch02.txt (PyTorch, see generate.py), max abs error 1e-5 unless stated.
#include "exercises.hpp"

#include "chapters/02_self_attention/self_attention.hpp"
#include "every_size.hpp"
#include "matchers.hpp"
#include "reference.hpp"
#include "unchanged.hpp"

#include <xtensor/xview.hpp>

#include <cmath>
#include <limits>

using attn::Matrix;
using attn::Vector;
using attn::test::IsClose;
using attn::test::Reference;
// The exercises as the tests call them (ex::name): each call fails the test when the answer
// changes an argument it takes by const reference (tests/support/unchanged.hpp).
namespace ex {
using namespace attn::ex02;  // the exercises' types
using attn::test::KeepsInputs;
constexpr KeepsInputs<&attn::ex02::project> project{"project", "x", "w"};
constexpr KeepsInputs<&attn::ex02::self_attention> self_attention{"self_attention", "x", "w_q",
                                                                  "w_k", "w_v"};
constexpr KeepsInputs<&attn::ex02::permute_rows> permute_rows{"permute_rows", "x", "order"};
constexpr KeepsInputs<&attn::ex02::attention_entropy> attention_entropy{"attention_entropy",
                                                                        "weights"};
}  // namespace ex

namespace {
// 2.4: each row divided by its sum before the entropy (a row of zeros gives 0/0 = NaN).
Vector entropy_of_renormalised(const Matrix& weights) {
    attn::attention_entropy(weights);  // throws where the answer must
    Matrix w = weights;
    for (std::size_t i = 0; i < w.shape(0); ++i) {
        float sum = 0.0f;
        for (std::size_t j = 0; j < w.shape(1); ++j) sum += w(i, j);
        for (std::size_t j = 0; j < w.shape(1); ++j) w(i, j) /= sum;
    }
    return attn::attention_entropy(w);
}
const attn::test::MistakeFormulas<&attn::ex02::attention_entropy> entropy_mistakes{
    {"each row is divided by its sum first: the entropy is of the weights as given, "
     "-sum w log w, whatever they sum to (a row of zeros has entropy 0)",
     &entropy_of_renormalised}};
}  // namespace

namespace {
const Reference& ref() {
    return Reference::load("ch02");
}
constexpr const char* transposed =
    "computes X W^T instead of X W: row t of the result is token t (a row of X) times W";
}  // namespace

// ---------------------------------------------------------------- 2.1 project

TEST_CASE("2.1 project: the worked example", "[2.1]") {
    CHECK_THAT(ex::project(Matrix{{1, 2}, {3, 4}}, Matrix{{1, 0, 1}, {0, 1, 1}}),
               IsClose(Matrix{{1, 2, 3}, {3, 4, 7}}));
}

TEST_CASE("2.1 project: X W, not X W^T", "[2.1]") {
    const Matrix x{{1, 2}, {3, 4}};
    const Matrix w{{0, 1}, {2, 3}};
    CHECK_THAT(ex::project(x, w), IsClose(Matrix{{4, 7}, {8, 15}})
                                      .or_mistake(Matrix{{2, 8}, {4, 18}}, transposed)
                                      .or_mistake(Matrix{{3, 4}, {11, 16}},
                                                  "computes W X instead of X W: the tokens are "
                                                  "the rows of X, so X comes first"));
}

TEST_CASE("2.1 project: matches PyTorch", "[2.1]") {
    CHECK_THAT(ex::project(ref().matrix("project.x"), ref().matrix("project.w")),
               IsClose(ref().matrix("project.out")));
}

TEST_CASE("2.1 project: rejects a projection with the wrong number of rows", "[2.1]") {
    CHECK_SHAPE_ERROR(ex::project(Matrix{{1, 2, 3}}, Matrix{{1}, {2}}), "project", "[2, 1]",
                      "x [1, 3] has d_model = 3 but w [2, 1] has 2 rows");
    CHECK_SHAPE_ERROR(ex::project(Matrix::from_shape({0, 2}), Matrix{{1}, {2}}), "project",
                      "[0, 2]", "x [0, 2] holds no token");
}

// ---------------------------------------------------------------- 2.2 self-attention

TEST_CASE("2.2 self_attention: the worked example", "[2.2]") {
    // W_q and W_k differ, so swapping Q and K gives other numbers (with identity projections
    // the swap would go unnoticed).
    const Matrix x{{1, 0}, {0, 1}, {1, 1}};
    const Matrix w_q{{1, 0}, {0, 2}};
    const Matrix w_k{{0, 1}, {1, 0}};
    const Matrix w_v{{10, 0}, {0, 10}};
    CHECK_THAT(ex::self_attention(x, w_q, w_k, w_v),
               IsClose(Matrix{{5.98887907f, 8.02224185f},
                              {8.91616548f, 5.54191726f},
                              {8.59970755f, 7.16004590f}},
                       1e-4f)
                   .or_mistake(Matrix{{5.77681202f, 8.44637597f},
                                      {9.36621062f, 5.31689469f},
                                      {9.09969427f, 7.55271529f}},
                               "missing 1/sqrt(d_k): divide the scores by sqrt(d_k) before "
                               "softmax")
                   .or_mistake(Matrix{{5.54191726f, 8.91616548f},
                                      {8.02224185f, 5.98887907f},
                                      {7.16004590f, 8.59970755f}},
                               "queries and keys swapped: the scores are Q K^T (row i: query i "
                               "against every key), not K Q^T"));
}

TEST_CASE("2.2 self_attention: matches PyTorch", "[2.2]") {
    CHECK_THAT(
        ex::self_attention(ref().matrix("self_attention.x"), ref().matrix("self_attention.w_q"),
                           ref().matrix("self_attention.w_k"), ref().matrix("self_attention.w_v")),
        IsClose(ref().matrix("self_attention.output"))
            .or_mistake(ref().matrix("self_attention.output_swapped"),
                        "queries and keys swapped: the scores are Q K^T (row i: query i against "
                        "every key), not K Q^T")
            .or_mistake(ref().matrix("self_attention.output_unscaled"),
                        "missing 1/sqrt(d_k): divide the scores by sqrt(d_k) before softmax"));
}

TEST_CASE("2.2 self_attention: shuffling the tokens shuffles the outputs the same way", "[2.2]") {
    const Matrix x = ref().matrix("self_attention.x");
    const Matrix w_q = ref().matrix("self_attention.w_q");
    const Matrix w_k = ref().matrix("self_attention.w_k");
    const Matrix w_v = ref().matrix("self_attention.w_v");
    const std::size_t order[] = {3, 0, 4, 1, 2};
    Matrix shuffled = x;
    for (std::size_t i = 0; i < 5; ++i) xt::row(shuffled, i) = xt::row(x, order[i]);
    const Matrix out = ex::self_attention(x, w_q, w_k, w_v);
    Matrix expected = out;
    for (std::size_t i = 0; i < 5; ++i) xt::row(expected, i) = xt::row(out, order[i]);
    INFO("self-attention must treat every token alike, wherever it stands");
    CHECK_THAT(ex::self_attention(shuffled, w_q, w_k, w_v), IsClose(expected));
}

TEST_CASE("2.2 self_attention: rejects projections that do not fit", "[2.2]") {
    const Matrix x{{1, 0}, {0, 1}};
    const Matrix w{{1, 0}, {0, 1}};
    CHECK_SHAPE_ERROR(ex::self_attention(x, w, Matrix{{1, 0, 0}, {0, 1, 0}}, w), "self_attention",
                      "[2, 3]", "w_q [2, 2] and w_k [2, 3] give queries and keys of different d_k");
    CHECK_SHAPE_ERROR(ex::self_attention(x, w, w, Matrix{{1, 0}}), "self_attention", "[1, 2]",
                      "w_v [1, 2] has 1 row but x [2, 2] has d_model = 2");
    CHECK_SHAPE_ERROR(ex::self_attention(x, Matrix{{1, 0, 0}}, w, w), "self_attention", "[1, 3]",
                      "w_q [1, 3] has 1 row but x [2, 2] has d_model = 2");
    CHECK_SHAPE_ERROR(ex::self_attention(Matrix::from_shape({0, 2}), w, w, w), "self_attention",
                      "[0, 2]", "x [0, 2] holds no token");
}

// ---------------------------------------------------------------- 2.3 permute rows

TEST_CASE("2.3 permute_rows: the worked example", "[2.3]") {
    CHECK_THAT(ex::permute_rows(Matrix{{1, 1}, {2, 2}, {3, 3}}, {2, 0, 1}),
               IsClose(Matrix{{3, 3}, {1, 1}, {2, 2}}, 0.0f)
                   .or_mistake(Matrix{{2, 2}, {3, 3}, {1, 1}},
                               "the inverse permutation: row i of the result must be row "
                               "order[i] of x (gather), not row i of x moved to order[i] "
                               "(scatter)"));
}

TEST_CASE("2.3 permute_rows: matches PyTorch's x[order]", "[2.3]") {
    const Vector order = ref().vector("permute.order");
    CHECK_THAT(ex::permute_rows(ref().matrix("self_attention.x"),
                                std::vector<std::size_t>(order.begin(), order.end())),
               IsClose(ref().matrix("permute.out"), 0));
}

TEST_CASE("2.3 permute_rows: the identity order changes nothing", "[2.3]") {
    const Matrix x = ref().matrix("project.x");
    CHECK_THAT(ex::permute_rows(x, {0, 1, 2, 3, 4}), IsClose(x, 0.0f));
}

TEST_CASE("2.3 permute_rows: rejects an order that is not a permutation", "[2.3]") {
    const Matrix x{{1, 1}, {2, 2}, {3, 3}};
    CHECK_SHAPE_ERROR(ex::permute_rows(x, {0, 1}), "permute_rows", "2",
                      "order has 2 entries but x has T = 3 rows");
    CHECK_SHAPE_ERROR(ex::permute_rows(x, {0, 1, 3}), "permute_rows", "3",
                      "order contains 3, but the rows are numbered 0..2");
    CHECK_SHAPE_ERROR(ex::permute_rows(x, {0, 1, 1}), "permute_rows", "1",
                      "order contains 1 twice, so one row would be lost");
    CHECK_SHAPE_ERROR(ex::permute_rows(Matrix::from_shape({0, 2}), {}), "permute_rows", "[0, 2]",
                      "x [0, 2] holds no row");
}

// ---------------------------------------------------------------- 2.4 entropy

TEST_CASE("2.4 attention_entropy: the worked example", "[2.4]") {
    CHECK_THAT(ex::attention_entropy(Matrix{{1, 0}, {0.5f, 0.5f}}),
               IsClose(Vector{0, 0.693147181f})
                   .or_mistake(Vector{0, 1},
                               "uses log base 2 (bits); the task asks for nats: "
                               "std::log, the natural logarithm")
                   .or_mistake_if_not_finite("0 * ln 0 gave NaN: skip the zero weights (the "
                                             "limit of w ln w as w -> 0 is 0)"));
}

TEST_CASE("2.4 attention_entropy: 0 for one key, ln T for T keys equally", "[2.4]") {
    const Matrix w{{0, 0, 1, 0}, {0.25f, 0.25f, 0.25f, 0.25f}};
    CHECK_THAT(ex::attention_entropy(w), IsClose(Vector{0, std::log(4.0f)}));
}

TEST_CASE("2.4 attention_entropy: matches PyTorch", "[2.4]") {
    CHECK_THAT(ex::attention_entropy(ref().matrix("entropy.weights")),
               IsClose(ref().vector("entropy.nats"))
                   .or_mistake(ref().vector("entropy.bits"),
                               "uses log base 2 (bits); the task asks for nats: std::log"));
}

TEST_CASE("2.4 attention_entropy: a NaN weight gives NaN, not a number", "[2.4]") {
    const float nan = std::numeric_limits<float>::quiet_NaN();
    const Vector h = ex::attention_entropy(Matrix{{0.5f, nan}, {0.5f, 0.5f}});
    REQUIRE(h.size() == 2);
    {
        INFO("row 0 holds a NaN weight: its entropy must be NaN, it came out as " << h(0));
        CHECK(std::isnan(h(0)));
    }
    INFO("row 1, {0.5, 0.5}: its entropy is log 2 = 0.693147, it came out as " << h(1));
    CHECK(std::fabs(h(1) - std::log(2.0f)) < 1e-5f);
}

TEST_CASE("2.4 attention_entropy: rejects empty weights", "[2.4]") {
    CHECK_SHAPE_ERROR(ex::attention_entropy(Matrix::from_shape({0, 3})), "attention_entropy",
                      "[0, 3]", "weights [0, 3] holds no row");
}

// ---------------------------------------------------------------- every size, smallest first
//
// Each exercise on inputs of growing size, against chapter 02's own functions; a failure shows
// the smallest input that fails, whole.

using attn::test::check_every_size;
using attn::test::Dims;
using attn::test::dims_up_to;
using attn::test::named;
using attn::test::readable_matrix;
using attn::test::Trial;

TEST_CASE("2.1 project: every size from T = 1, d_model = 1 (the smallest failing input is shown)",
          "[2.1]") {
    check_every_size<2>(dims_up_to(3, 3), [](const Dims& s, Trial<2>& t) {
        const Matrix x = readable_matrix(s.T, s.d, 1);
        const Matrix w = readable_matrix(s.d, s.d + 1, 2);
        t.input = "T = " + std::to_string(s.T) + ", d_model = " + std::to_string(s.d) +
                  ", d_out = " + std::to_string(s.d + 1) + "\n" + named("x", x) + "\n" +
                  named("w", w);
        t.expected = attn::project(x, w);
        t.actual = ex::project(x, w);
    });
}

TEST_CASE("2.2 self_attention: every size from T = 1, d_model = 1, then scores hundreds apart",
          "[2.2]") {
    std::vector<Dims> sizes = dims_up_to(3, 3);
    sizes.push_back({3, 103});  // d_model 3, x times 20: scores in the hundreds
    check_every_size<2>(sizes, [](const Dims& s, Trial<2>& t) {
        const std::size_t d = s.d % 100;
        const Matrix x = readable_matrix(s.T, d, 3) * (s.d > 100 ? 20.0f : 1.0f);
        const attn::Projections p{readable_matrix(d, 2, 4), readable_matrix(d, 2, 5),
                                  readable_matrix(d, 1, 6)};
        t.input = "T = " + std::to_string(s.T) + ", d_model = " + std::to_string(d) +
                  ", d_k = 2, d_v = 1\n" + named("x", x) + "\n" + named("w_q", p.w_q) + "\n" +
                  named("w_k", p.w_k) + "\n" + named("w_v", p.w_v);
        t.expected = attn::self_attention(x, p).output;
        const Matrix q = attn::project(x, p.w_q), k = attn::project(x, p.w_k),
                     v = attn::project(x, p.w_v);
        t.variants = attn::test::attention_variants(q, k, v);
        t.variants.push_back(
            {"the scores are divided by sqrt(d_model), the width of x: divide them by sqrt(d_k), "
             "the width of a query",
             attn::test::attention_with(q, k, v, 1.0 / std::sqrt(static_cast<double>(d)))});
        t.actual = ex::self_attention(x, p.w_q, p.w_k, p.w_v);
    });
}

TEST_CASE("2.3 permute_rows: every size from T = 1, rows reversed and rotated", "[2.3]") {
    std::vector<Dims> sizes;
    for (std::size_t T = 1; T <= 4; ++T)
        for (std::size_t rotate = 0; rotate <= 1; ++rotate) sizes.push_back({T, rotate});
    check_every_size<2>(sizes, [](const Dims& s, Trial<2>& t) {
        const Matrix x = readable_matrix(s.T, 2, 7);
        std::vector<std::size_t> order(s.T);
        for (std::size_t i = 0; i < s.T; ++i) order[i] = s.d ? (i + 1) % s.T : s.T - 1 - i;
        std::string text;
        for (std::size_t i : order) text += (text.empty() ? "" : ", ") + std::to_string(i);
        t.input = "T = " + std::to_string(s.T) + "\n" + named("x", x) + "\norder = {" + text + "}";
        t.expected = attn::permute_rows(x, order);
        t.actual = ex::permute_rows(x, order);
    });
}

TEST_CASE("2.4 attention_entropy: every size from one weight", "[2.4]") {
    check_every_size<1>(dims_up_to(3, 4), [](const Dims& s, Trial<1>& t) {
        Matrix weights = attn::softmax_rows(readable_matrix(s.T, s.d, 8));
        if (s.d > 1) weights(s.T - 1, s.d - 1) = 0.0f;  // a weight of exactly 0 counts 0
        t.input = "T_q = " + std::to_string(s.T) + ", T_k = " + std::to_string(s.d) + "\n" +
                  named("weights", weights);
        t.expected = attn::attention_entropy(weights);
        t.actual = ex::attention_entropy(weights);
    });
}
