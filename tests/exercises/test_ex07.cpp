// Tests for the chapter 07 exercises; the tag ([7.1]) is the exercise's number.
//
// Expected values: the worked examples of exercises.hpp (by hand, checked with Python's
// math module), the two-pass softmax, and chapter 03's masked_attention(), which
// tests/reference/ch03.txt checks against PyTorch. The known wrong answers are computed
// here the way the mistake computes them.
#include "exercises.hpp"

#include "chapters/03_causal_masking/causal_masking.hpp"
#include "chapters/07_fast_attention/fast_attention.hpp"
#include "common/random.hpp"
#include "every_size.hpp"
#include "matchers.hpp"
#include "unchanged.hpp"

#include <xtensor/xbuilder.hpp>
#include <xtensor/xview.hpp>

#include <cmath>

using attn::Mask;
using attn::Matrix;
using attn::Vector;
using attn::test::IsClose;
// The exercises as the tests call them (ex::name): each call fails the test when the answer
// changes an argument it takes by const reference (tests/support/unchanged.hpp).
namespace ex {
using namespace attn::ex07;  // the exercises' types
using attn::test::KeepsInputs;
constexpr KeepsInputs<&attn::ex07::softmax_state> softmax_state{"softmax_state", "logits"};
constexpr KeepsInputs<&attn::ex07::merge_states> merge_states{"merge_states", "a", "b"};
constexpr KeepsInputs<&attn::ex07::tiled_attention> tiled_attention{
    "tiled_attention", "q", "k", "v", "causal", "block"};
}  // namespace ex

namespace {
// 7.2: b's sum rescaled to a's maximum, as if a's were always the larger.
attn::ex07::SoftmaxState assumes_a_larger(const attn::ex07::SoftmaxState& a,
                                          const attn::ex07::SoftmaxState& b) {
    const float m = std::max(a.max, b.max);
    if (m == -std::numeric_limits<float>::infinity()) return {};  // both empty
    return {m, a.sum + b.sum * std::exp(b.max - a.max)};
}
const attn::test::MistakeFormulas<&attn::ex07::merge_states> merge_mistakes{
    {"b's sum is rescaled to a's maximum as if a's were always the larger: rescale both sums "
     "to the larger maximum, e^(m_a - m) and e^(m_b - m)",
     &assumes_a_larger}};
}  // namespace

namespace {
Vector as_vector(const ex::SoftmaxState& s) {
    return Vector{s.max, s.sum};
}

struct Inputs {
    Matrix q, k, v;
};

Inputs inputs(std::size_t T) {
    attn::Rng rng(70 + T);
    return {attn::random_normal(T, 8, rng), attn::random_normal(T, 8, rng),
            attn::random_normal(T, 5, rng)};
}

// Attention where `allowed` decides; rows that see nothing give zeros (chapter 03).
Matrix masked(const Inputs& in, const Mask& allowed) {
    return attn::masked_attention(in.q, in.k, in.v, allowed).output;
}

// The mistake of forgetting to rescale the running output: written out, tile by tile.
Matrix without_output_rescale(const Inputs& in, bool causal, std::size_t block) {
    const std::size_t T = in.q.shape(0), d_v = in.v.shape(1);
    Matrix out = xt::zeros<float>({T, d_v});
    for (std::size_t i = 0; i < T; ++i) {
        float m = -INFINITY, l = 0;
        Vector acc = xt::zeros<float>({d_v});
        const std::size_t end = causal ? i + 1 : T;
        for (std::size_t j0 = 0; j0 < end; j0 += block) {
            float tile_max = -INFINITY;
            std::vector<float> s;
            for (std::size_t j = j0; j < std::min(j0 + block, end); ++j) {
                s.push_back(xt::sum(xt::row(in.q, i) * xt::row(in.k, j))() / std::sqrt(8.0f));
                tile_max = std::max(tile_max, s.back());
            }
            const float m2 = std::max(m, tile_max);
            l = l * std::exp(m - m2);
            for (std::size_t j = 0; j < s.size(); ++j) {
                const float p = std::exp(s[j] - m2);
                l += p;
                acc += p * xt::row(in.v, j0 + j);  // acc is not rescaled: the mistake
            }
            m = m2;
        }
        xt::row(out, i) = acc / l;
    }
    return out;
}
}  // namespace

// ---------------------------------------------------------------- 7.1 softmax state

TEST_CASE("7.1 softmax_state: the worked example", "[7.1]") {
    CHECK_THAT(
        as_vector(ex::softmax_state(Vector{1, 3, 2})),
        IsClose(Vector{3, 1.50321472f})
            .or_mistake(Vector{3, 2.36787944f},
                        "the running sum was not rescaled when the maximum grew: multiply it by "
                        "e^(old max - new max)"));
}

TEST_CASE("7.1 softmax_state: logits far apart, in any order, agree with the two-pass softmax",
          "[7.1]") {
    attn::Rng rng(7);
    const Vector x = attn::random_normal(40, rng, 3000.0f);  // differences far beyond 88
    const ex::SoftmaxState s = ex::softmax_state(x);
    const float m = xt::amax(x)();
    const float sum = xt::sum(xt::exp(x - m))();
    CHECK_THAT(
        as_vector(s),
        IsClose(Vector{m, sum}, 1e-4f)
            .or_mistake_if_not_finite(
                "the sum overflowed or became 0/0: keep it relative to the running maximum"));
}

TEST_CASE("7.1 softmax_state: an empty stream, and -inf logits, add nothing", "[7.1]") {
    const ex::SoftmaxState empty = ex::softmax_state(Vector::from_shape({0}));
    CHECK(std::isinf(empty.max));
    CHECK(empty.max < 0);
    CHECK(empty.sum == 0.0f);
    const float inf = std::numeric_limits<float>::infinity();
    CHECK_THAT(as_vector(ex::softmax_state(Vector{-inf, 2, -inf})),
               IsClose(Vector{2, 1})
                   .or_mistake_if_not_finite("e^(-inf - -inf) is NaN: a -inf logit adds 0"));
}

// ---------------------------------------------------------------- 7.2 merge states

TEST_CASE("7.2 merge_states: the worked example", "[7.2]") {
    CHECK_THAT(
        as_vector(ex::merge_states({3, 1.5f}, {5, 1})),
        IsClose(Vector{5, 1.20300293f})
            .or_mistake(
                Vector{3, 8.8890561f},
                "merged with the wrong maximum: the merged maximum is the larger of the two")
            .or_mistake(
                Vector{5, 2.5f},
                "the sums were added without rescaling: each is relative to its own maximum"));
}

TEST_CASE("7.2 merge_states: two halves of a row merge into the whole row's state", "[7.2]") {
    attn::Rng rng(8);
    const Vector x = attn::random_normal(30, rng, 50.0f);
    const float m = xt::amax(x)();
    const float sum = xt::sum(xt::exp(x - m))();
    const float m1 = xt::amax(xt::view(x, xt::range(0, 11)))(),
                m2 = xt::amax(xt::view(x, xt::range(11, 30)))();
    const ex::SoftmaxState a{m1, xt::sum(xt::exp(xt::view(x, xt::range(0, 11)) - m1))()};
    const ex::SoftmaxState b{m2, xt::sum(xt::exp(xt::view(x, xt::range(11, 30)) - m2))()};
    CHECK_THAT(as_vector(ex::merge_states(a, b)), IsClose(Vector{m, sum}, 1e-4f));
    CHECK_THAT(as_vector(ex::merge_states(b, a)), IsClose(Vector{m, sum}, 1e-4f));
}

TEST_CASE("7.2 merge_states: an empty state changes nothing; two give an empty state", "[7.2]") {
    const ex::SoftmaxState empty{};
    CHECK_THAT(as_vector(ex::merge_states(empty, {2, 3})),
               IsClose(Vector{2, 3})
                   .or_mistake_if_not_finite("e^(-inf - -inf) is NaN: an empty state adds 0"));
    const ex::SoftmaxState both = ex::merge_states(empty, empty);
    INFO("merging two empty states gave max " << both.max << ", sum " << both.sum);
    CHECK(both.sum == 0.0f);
    CHECK(std::isinf(both.max));
}

// ---------------------------------------------------------------- 7.3 tiled attention

TEST_CASE("7.3 tiled_attention: probes: one block holding everything, then blocks of one",
          "[7.3]") {
    const Inputs in = inputs(5);
    const Matrix all = xt::ones<float>({5, 5});
    {
        INFO(
            "probe: with a block larger than T there is one tile, so the online rescaling never "
            "runs: the answer must be plain attention; a difference here is in the scores, the "
            "scale, the softmax or the causal mask inside a tile");
        CHECK_THAT(ex::tiled_attention(in.q, in.k, in.v, false, 8),
                   IsClose(masked(in, all), 1e-4f));
        CHECK_THAT(ex::tiled_attention(in.q, in.k, in.v, true, 8),
                   IsClose(masked(in, attn::causal_mask(5)), 1e-4f));
    }
    {
        INFO(
            "probe: with blocks of 1 every key is its own tile and the running maximum, sum and "
            "output are rescaled at every step: the first probe passing and this one failing "
            "points at the merging of tiles");
        CHECK_THAT(ex::tiled_attention(in.q, in.k, in.v, false, 1),
                   IsClose(masked(in, all), 1e-4f));
    }
}

TEST_CASE("7.3 tiled_attention: equals masked attention when T is not a multiple of the block",
          "[7.3]") {
    const Inputs in = inputs(10);
    Mask first_eight = xt::ones<bool>({10, 10});
    xt::view(first_eight, xt::all(), xt::range(8, 10)) = false;
    Matrix partial_skipped = masked(in, first_eight);
    xt::view(partial_skipped, xt::range(8, 10), xt::all()) = 0.0f;
    CHECK_THAT(
        ex::tiled_attention(in.q, in.k, in.v, false, 4),
        IsClose(masked(in, xt::ones<bool>({10, 10})))
            .or_mistake(
                partial_skipped,
                "the last, shorter block was skipped: with T = 10 and blocks of 4 there are "
                "3 blocks, the last of 2")
            .or_mistake(without_output_rescale(in, false, 4),
                        "the running output was not rescaled when the maximum grew: multiply it by "
                        "e^(old max - new max), like the running sum"));
    CHECK_THAT(ex::tiled_attention(in.q, in.k, in.v, false, 16),
               IsClose(masked(in, xt::ones<bool>({10, 10}))));
}

TEST_CASE("7.3 tiled_attention: causal, equals masked attention with the causal mask", "[7.3]") {
    const Inputs in = inputs(11);
    Mask earlier_blocks =
        xt::zeros<bool>({11, 11});  // the mistake: no key of the query's own block
    for (std::size_t i = 0; i < 11; ++i)
        for (std::size_t j = 0; j < (i / 3) * 3; ++j) earlier_blocks(i, j) = true;
    CHECK_THAT(
        ex::tiled_attention(in.q, in.k, in.v, true, 3),
        IsClose(masked(in, attn::causal_mask(11)))
            .or_mistake(masked(in, earlier_blocks),
                        "the block on the diagonal was skipped: it holds the keys from the block's "
                        "start up to the query itself; mask inside it instead")
            .or_mistake(without_output_rescale(in, true, 3),
                        "the running output was not rescaled when the maximum grew: multiply it by "
                        "e^(old max - new max), like the running sum"));
}

TEST_CASE("7.3 tiled_attention: scores of size 1e4 stay finite", "[7.3]") {
    attn::Rng rng(9);
    const Inputs in{attn::random_normal(9, 8, rng, 60.0f), attn::random_normal(9, 8, rng, 60.0f),
                    attn::random_normal(9, 5, rng)};
    CHECK_THAT(ex::tiled_attention(in.q, in.k, in.v, true, 4),
               IsClose(masked(in, attn::causal_mask(9)), 1e-4f)
                   .or_mistake_if_not_finite(
                       "e^score overflowed: subtract the running maximum before exp"));
}

TEST_CASE("7.3 tiled_attention: rejects shapes that do not fit and a block of 0", "[7.3]") {
    const Inputs in = inputs(6);
    CHECK_SHAPE_ERROR(ex::tiled_attention(in.q, Matrix::from_shape({6, 3}), in.v, false, 2),
                      "tiled_attention", "[6, 3]", "k [6, 3] does not have q's d = 8");
    CHECK_SHAPE_ERROR(ex::tiled_attention(in.q, in.k, Matrix::from_shape({5, 5}), false, 2),
                      "tiled_attention", "[5, 5]", "v [5, 5] does not have one row per key");
    CHECK_SHAPE_ERROR(ex::tiled_attention(in.q, in.k, in.v, false, 0), "tiled_attention", "0",
                      "a block of 0 holds nothing");
}

// ---------------------------------------------------------------- every size, smallest first
//
// Each exercise on inputs of growing size against chapter 07's and chapter 03's functions; a
// failure shows the smallest input that fails, whole.

using attn::test::check_every_size;
using attn::test::Dims;
using attn::test::dims_up_to;
using attn::test::named;
using attn::test::readable_matrix;
using attn::test::readable_vector;
using attn::test::Trial;

namespace {
Vector as_vector(const attn::SoftmaxState& s) {
    return Vector{s.max, s.sum};
}
// Logits of the sweep: kind 0 readable, 1 all negative, 2 with a -inf, 3 hundreds apart.
Vector sweep_logits(std::size_t n, std::size_t kind) {
    Vector x = readable_vector(n, 11);
    if (kind == 1) x = -xt::abs(x) - 0.5f;
    if (kind == 2 && n > 0) x(n - 1) = -std::numeric_limits<float>::infinity();
    if (kind == 3) x *= 200.0f;
    return x;
}
const char* logit_kinds[] = {"", ", all negative", ", one -inf", ", hundreds apart"};
}  // namespace

TEST_CASE(
    "7.1 softmax_state: every length from 0, all-negative logits, a -inf, logits hundreds "
    "apart (the result: {max, sum})",
    "[7.1]") {
    std::vector<Dims> sizes;
    for (std::size_t n = 0; n <= 4; ++n)
        for (std::size_t kind = 0; kind <= 3; ++kind) sizes.push_back({n, kind});
    check_every_size<1>(
        sizes,
        [](const Dims& s, Trial<1>& t) {
            const Vector x = sweep_logits(s.T, s.d);
            t.input = "n = " + std::to_string(s.T) + logit_kinds[s.d] + "\n" + named("logits", x);
            t.expected = as_vector(attn::softmax_state(x));
            t.actual = as_vector(ex::softmax_state(x));
        },
        1e-4f);
}

TEST_CASE("7.2 merge_states: every split of every row up to 4 logits (the result: {max, sum})",
          "[7.2]") {
    std::vector<Dims> sizes;  // T: logits, d: where the row splits (0..T) + 10 * kind
    for (std::size_t n = 0; n <= 4; ++n)
        for (std::size_t kind = 0; kind <= 3; ++kind)
            for (std::size_t split = 0; split <= n; ++split)
                sizes.push_back({n, split + 10 * kind});
    check_every_size<1>(
        sizes,
        [](const Dims& s, Trial<1>& t) {
            const Vector x = sweep_logits(s.T, s.d / 10);
            const std::size_t split = s.d % 10;
            const Vector a = xt::view(x, xt::range(0, split)),
                         b = xt::view(x, xt::range(split, s.T));
            const attn::SoftmaxState sa = attn::softmax_state(a), sb = attn::softmax_state(b);
            t.input = named("logits", x) + logit_kinds[s.d / 10] + ", split after " +
                      std::to_string(split) + ": a = state of the first part {max " +
                      std::to_string(sa.max) + ", sum " + std::to_string(sa.sum) + "}, b = {max " +
                      std::to_string(sb.max) + ", sum " + std::to_string(sb.sum) + "}";
            t.expected = as_vector(attn::softmax_state(x));
            t.actual = as_vector(ex::merge_states({sa.max, sa.sum}, {sb.max, sb.sum}));
        },
        1e-4f);
}

TEST_CASE(
    "7.3 tiled_attention: every T, width and block from 1, causal or not, then scores "
    "hundreds apart",
    "[7.3]") {
    struct Tiles {
        std::size_t T, d, block;
        bool causal;
        float scale;
    };
    std::vector<Tiles> sizes;
    for (std::size_t T = 1; T <= 5; ++T)
        for (std::size_t d = 1; d <= 2; ++d)
            for (std::size_t block = 1; block <= T + 1; ++block)
                for (bool causal : {true, false}) sizes.push_back({T, d, block, causal, 1.0f});
    sizes.push_back({5, 2, 2, true, 100.0f});
    sizes.push_back({5, 2, 2, false, -100.0f});  // every score far below 0: a max from 0 fails
    check_every_size<2>(
        sizes,
        [](const Tiles& s, Trial<2>& t) {
            // A negative scale: queries -100 and keys 100 times numbers of 0.5 to 2.5, so
            // every score lies far below 0 and e^(score - 0) underflows to 0.
            const bool negative = s.scale < 0;
            const Matrix q = negative
                                 ? Matrix(-(xt::abs(readable_matrix(s.T, s.d, 12)) + 0.5f) * 100.0f)
                                 : Matrix(readable_matrix(s.T, s.d, 12) * s.scale);
            const Matrix k = negative
                                 ? Matrix((xt::abs(readable_matrix(s.T, s.d, 13)) + 0.5f) * 100.0f)
                                 : Matrix(readable_matrix(s.T, s.d, 13) * s.scale);
            const Matrix v = readable_matrix(s.T, 2, 14);
            t.input = "T = " + std::to_string(s.T) + ", d = " + std::to_string(s.d) +
                      ", d_v = 2, block = " + std::to_string(s.block) +
                      (s.causal ? ", causal" : ", not causal") + "\n" + named("q", q) + "\n" +
                      named("k", k) + "\n" + named("v", v);
            const Mask mask = s.causal ? attn::causal_mask(s.T) : Mask(xt::ones<bool>({s.T, s.T}));
            t.expected = attn::masked_attention(q, k, v, mask).output;
            t.variants = attn::test::attention_variants(q, k, v, mask);
            t.actual = ex::tiled_attention(q, k, v, s.causal, s.block);
        },
        1e-4f);
}
