// Tests for the chapter 04 exercises; the tag ([4.1]) is the exercise's number.
//
// Expected values: the worked examples of exercises.hpp (by hand) and
// tests/reference/ch04.txt (PyTorch's view/transpose/repeat_interleave, see generate.py),
// which also holds the answers of the known mistakes.
#include "exercises.hpp"

#include "chapters/03_causal_masking/causal_masking.hpp"
#include "chapters/04_multi_head_attention/multi_head_attention.hpp"
#include "every_size.hpp"
#include "matchers.hpp"
#include "reference.hpp"
#include "unchanged.hpp"

#include <xtensor-blas/xlinalg.hpp>
#include <xtensor/xview.hpp>

#include <algorithm>
#include <array>
#include <cmath>
#include <stdexcept>
#include <string>

using attn::Matrix;
using attn::Tensor3;
using attn::Vector;
using attn::test::IsClose;
using attn::test::Reference;
// The exercises as the tests call them (ex::name): each call fails the test when the answer
// changes an argument it takes by const reference (tests/support/unchanged.hpp).
namespace ex {
using namespace attn::ex04;  // the exercises' types
using attn::test::KeepsInputs;
constexpr KeepsInputs<&attn::ex04::split_heads> split_heads{"split_heads", "x", "n_heads"};
constexpr KeepsInputs<&attn::ex04::merge_heads> merge_heads{"merge_heads", "heads"};
constexpr KeepsInputs<&attn::ex04::kv_head_for> kv_head_for{"kv_head_for", "head", "n_heads",
                                                            "n_kv_heads"};
constexpr KeepsInputs<&attn::ex04::multi_head_attention> multi_head_attention{
    "multi_head_attention", "x", "w_q", "w_k", "w_v", "w_o", "n_heads", "n_kv_heads", "causal"};
}  // namespace ex

namespace {
const Reference& ref() {
    return Reference::load("ch04");
}
constexpr const char* strided =
    "heads split by stride (head h taking columns h, h + n_heads, ...): head h is the "
    "contiguous block of columns h*d_head .. (h+1)*d_head - 1";
constexpr const char* reversed = "heads merged in the wrong order: head 0's block comes first";
constexpr const char* interleaved =
    "heads interleaved column by column: each head's columns stay together, as one block";
constexpr const char* scaled_by_d_model =
    "scores divided by sqrt(d_model): each head divides by sqrt(d_head), the width of its own "
    "queries and keys";
constexpr const char* no_w_o = "the output projection is missing: multiply the merged heads by W_o";
constexpr const char* w_o_per_head =
    "W_o applied per head (each head times its own block of W_o): W_o multiplies the merged "
    "heads, so that it mixes them";
constexpr const char* kv_modulo =
    "query head h uses key/value head h % n_kv_heads: it is h / (n_heads / n_kv_heads), "
    "consecutive query heads sharing one";
constexpr const char* element_wise =
    "an element-wise product (*) in place of a matrix product: x W_q, x W_k, x W_v and the "
    "merged heads times W_o are matrix products, xt::linalg::dot (in xtensor * multiplies "
    "element by element, broadcasting a row)";
constexpr const char* w_o_transposed =
    "W_o transposed: the merged heads are multiplied by W_o as given, [d_model, d_model], "
    "row i of W_o weighing column i of the merged heads";
constexpr const char* reshaped =
    "the heads split and merged by plain reshapes of [T, d_model] to [n_heads, T, d_head] and "
    "back, without the transpose: head h is the block of columns h*d_head..(h+1)*d_head-1 of "
    "every token (PyTorch's view(T, n_heads, d_head).transpose(0, 1))";
constexpr const char* reshaped_split =
    "the heads split by a plain reshape of [T, d_model] to [n_heads, T, d_head], without the "
    "transpose (merged right): head h is the block of columns h*d_head..(h+1)*d_head-1 of "
    "every token";

// The known mistakes of 4.4 as formulas: chapter 04's layer with one thing wired wrong.
enum class Wiring {
    right,
    element_wise,
    w_o_transposed,
    reshaped,
    reshaped_split,
    merged_reversed,
    split_strided,
    no_w_o,
    w_o_per_head,
    scaled_by_d_model,
    kv_modulo
};

Matrix wired(const Matrix& x, const Matrix& w_q, const Matrix& w_k, const Matrix& w_v,
             const Matrix& w_o, std::size_t n_heads, std::size_t n_kv_heads, bool causal,
             Wiring how) {
    // What the reference refuses, a formula refuses (throws, never reads out of range).
    if (x.shape(0) == 0) throw std::invalid_argument("x holds no token");
    const std::size_t T = x.shape(0), d_model = x.shape(1);
    const std::size_t d_head = attn::check_attention_weights(
        "formula", d_model, attn::MultiHeadWeights{w_q, w_k, w_v, w_o, n_heads, n_kv_heads});
    const auto product = [&](const Matrix& a, const Matrix& b) -> Matrix {
        if (how == Wiring::element_wise) return a * b;  // broadcasts, or throws
        return xt::linalg::dot(a, b);
    };
    const auto split = [&](const Matrix& m, std::size_t n) -> Tensor3 {
        const std::size_t rows = m.shape(0), width = m.shape(1) / n;
        Tensor3 heads = xt::zeros<float>({n, rows, width});
        for (std::size_t h = 0; h < n; ++h)
            for (std::size_t t = 0; t < rows; ++t)
                for (std::size_t i = 0; i < width; ++i) {
                    if (how == Wiring::reshaped || how == Wiring::reshaped_split)
                        heads(h, t, i) = m.data()[(h * rows + t) * width + i];
                    else if (how == Wiring::split_strided)
                        heads(h, t, i) = m(t, i * n + h);
                    else
                        heads(h, t, i) = m(t, h * width + i);
                }
        return heads;
    };
    const Tensor3 q = split(product(x, w_q), n_heads);
    const Tensor3 k = split(product(x, w_k), n_kv_heads);
    const Tensor3 v = split(product(x, w_v), n_kv_heads);
    const std::size_t rows = q.shape(1);
    const attn::Mask mask = causal ? attn::causal_mask(T) : attn::Mask(xt::ones<bool>({T, T}));
    Tensor3 out = xt::zeros<float>({n_heads, rows, d_head});
    for (std::size_t h = 0; h < n_heads; ++h) {
        const std::size_t g =
            how == Wiring::kv_modulo ? h % n_kv_heads : h / (n_heads / n_kv_heads);
        Matrix q_h = xt::view(q, h, xt::all(), xt::all());
        if (how == Wiring::scaled_by_d_model)
            q_h *= static_cast<float>(std::sqrt(double(d_head) / double(d_model)));
        xt::view(out, h, xt::all(), xt::all()) =
            attn::masked_attention(q_h, xt::view(k, g, xt::all(), xt::all()),
                                   xt::view(v, g, xt::all(), xt::all()), mask)
                .output;
    }
    Matrix merged = xt::zeros<float>({rows, n_heads * d_head});
    for (std::size_t h = 0; h < n_heads; ++h)
        for (std::size_t t = 0; t < rows; ++t)
            for (std::size_t i = 0; i < d_head; ++i) {
                const float value = out(h, t, i);
                if (how == Wiring::reshaped)
                    merged.data()[(h * rows + t) * d_head + i] = value;
                else if (how == Wiring::merged_reversed)
                    merged(t, (n_heads - 1 - h) * d_head + i) = value;
                else if (how == Wiring::split_strided)
                    merged(t, i * n_heads + h) = value;
                else
                    merged(t, h * d_head + i) = value;
            }
    switch (how) {
        case Wiring::no_w_o:
            return merged;
        case Wiring::w_o_transposed:
            return xt::linalg::dot(merged, xt::transpose(w_o));
        case Wiring::w_o_per_head: {
            Matrix blocks = xt::zeros<float>(w_o.shape());
            for (std::size_t h = 0; h < n_heads; ++h)
                xt::view(blocks, xt::range(h * d_head, (h + 1) * d_head),
                         xt::range(h * d_head, (h + 1) * d_head)) =
                    xt::view(w_o, xt::range(h * d_head, (h + 1) * d_head),
                             xt::range(h * d_head, (h + 1) * d_head));
            return xt::linalg::dot(merged, blocks);
        }
        default:
            return product(merged, w_o);
    }
}

template <Wiring how>
Matrix wired_as(const Matrix& x, const Matrix& w_q, const Matrix& w_k, const Matrix& w_v,
                const Matrix& w_o, std::size_t n_heads, std::size_t n_kv_heads, bool causal) {
    return wired(x, w_q, w_k, w_v, w_o, n_heads, n_kv_heads, causal, how);
}

// Weighed on every call of ex::multi_head_attention (tests/support/unchanged.hpp): named only
// when the answer's output is the formula's on every input the tests give.
const attn::test::MistakeFormulas<&attn::ex04::multi_head_attention> mha_mistakes{
    {element_wise, &wired_as<Wiring::element_wise>},
    {w_o_transposed, &wired_as<Wiring::w_o_transposed>},
    {reshaped, &wired_as<Wiring::reshaped>},
    {reshaped_split, &wired_as<Wiring::reshaped_split>},
    {reversed, &wired_as<Wiring::merged_reversed>},
    {strided, &wired_as<Wiring::split_strided>},
    {no_w_o, &wired_as<Wiring::no_w_o>},
    {w_o_per_head, &wired_as<Wiring::w_o_per_head>},
    {scaled_by_d_model, &wired_as<Wiring::scaled_by_d_model>},
    {kv_modulo, &wired_as<Wiring::kv_modulo>}};

// The outputs of ex::kv_head_for for every query head, as a vector a matcher can compare.
Vector kv_heads(std::size_t n_heads, std::size_t n_kv_heads) {
    Vector out = xt::zeros<float>({n_heads});
    for (std::size_t h = 0; h < n_heads; ++h)
        out(h) = static_cast<float>(ex::kv_head_for(h, n_heads, n_kv_heads));
    return out;
}

// ex::multi_head_attention on the reference configuration `name` (mha2, mha4, gqa4_2, ...).
Matrix mha(const std::string& name, std::size_t n_heads, std::size_t n_kv_heads, bool causal) {
    return ex::multi_head_attention(ref().matrix("mha.x"), ref().matrix(name + ".w_q"),
                                    ref().matrix(name + ".w_k"), ref().matrix(name + ".w_v"),
                                    ref().matrix(name + ".w_o"), n_heads, n_kv_heads, causal);
}

// The reference output of `name`, with every known mistake attached.
attn::test::IsCloseMatcher<2> is_reference(const std::string& name) {
    return IsClose(ref().matrix(name + ".output"))
        .or_mistake(ref().matrix(name + ".scaled_by_d_model"), scaled_by_d_model)
        .or_mistake(ref().matrix(name + ".no_w_o"), no_w_o)
        .or_mistake(ref().matrix(name + ".w_o_per_head"), w_o_per_head)
        .or_mistake(ref().matrix(name + ".merged_reversed"), reversed)
        .or_mistake(ref().matrix(name + ".split_strided"), strided)
        .or_mistake(ref().matrix(name + ".kv_modulo"), kv_modulo);
}
}  // namespace

// ---------------------------------------------------------------- 4.1 split heads

TEST_CASE("4.1 split_heads: the worked example", "[4.1]") {
    const Matrix x{{0, 1, 2, 3, 4, 5}, {10, 11, 12, 13, 14, 15}};
    CHECK_THAT(ex::split_heads(x, 3),
               IsClose(Tensor3{{{0, 1}, {10, 11}}, {{2, 3}, {12, 13}}, {{4, 5}, {14, 15}}}, 0)
                   .or_mistake(Tensor3{{{0, 3}, {10, 13}}, {{1, 4}, {11, 14}}, {{2, 5}, {12, 15}}},
                               strided));
}

TEST_CASE("4.1 split_heads: matches PyTorch's view(T, n_heads, d_head).transpose(0, 1)", "[4.1]") {
    const Matrix x = ref().matrix("split.x");
    CHECK_THAT(ex::split_heads(x, 3), IsClose(ref().tensor3("split.heads"), 0)
                                          .or_mistake(ref().tensor3("split.strided"), strided));
}

TEST_CASE("4.1 split_heads: one head is the whole matrix, d_model heads are its columns", "[4.1]") {
    const Matrix x = ref().matrix("split.x");  // [3, 6]
    const Tensor3 one = ex::split_heads(x, 1);
    CHECK_THAT(one, IsClose(Tensor3(xt::view(x, xt::newaxis(), xt::all(), xt::all())), 0));
    const Tensor3 six = ex::split_heads(x, 6);
    CHECK_THAT(
        six, IsClose(Tensor3(xt::view(xt::transpose(x), xt::all(), xt::all(), xt::newaxis())), 0));
}

TEST_CASE("4.1 split_heads: rejects a d_model that the heads do not divide", "[4.1]") {
    const Matrix x = Matrix::from_shape({2, 6});
    CHECK_SHAPE_ERROR(ex::split_heads(x, 4), "split_heads", "6",
                      "d_model = 6 is not a multiple of n_heads = 4");
    CHECK_SHAPE_ERROR(ex::split_heads(x, 0), "split_heads", "0", "n_heads = 0: no head at all");
    CHECK_SHAPE_ERROR(ex::split_heads(Matrix::from_shape({0, 6}), 2), "split_heads", "[0, 6]",
                      "x [0, 6] holds no token");
}

// ---------------------------------------------------------------- 4.2 merge heads

TEST_CASE("4.2 merge_heads: the worked example", "[4.2]") {
    CHECK_THAT(ex::merge_heads(Tensor3{{{1, 2}}, {{3, 4}}, {{5, 6}}}),
               IsClose(Matrix{{1, 2, 3, 4, 5, 6}}, 0)
                   .or_mistake(Matrix{{5, 6, 3, 4, 1, 2}}, reversed)
                   .or_mistake(Matrix{{1, 3, 5, 2, 4, 6}}, interleaved));
}

TEST_CASE("4.2 merge_heads: matches PyTorch's transpose(0, 1).reshape(T, d_model)", "[4.2]") {
    CHECK_THAT(ex::merge_heads(ref().tensor3("merge.heads")),
               IsClose(ref().matrix("merge.x"), 0)
                   .or_mistake(ref().matrix("merge.reversed"), reversed)
                   .or_mistake(ref().matrix("merge.interleaved"), interleaved));
}

TEST_CASE("4.2 merge_heads: undoes PyTorch's split", "[4.2]") {
    CHECK_THAT(ex::merge_heads(ref().tensor3("split.heads")), IsClose(ref().matrix("split.x"), 0));
}

TEST_CASE("4.2 merge_heads: rejects empty heads", "[4.2]") {
    CHECK_SHAPE_ERROR(ex::merge_heads(Tensor3::from_shape({0, 2, 2})), "merge_heads", "[0, 2, 2]",
                      "heads [0, 2, 2] holds no head");
    CHECK_SHAPE_ERROR(ex::merge_heads(Tensor3::from_shape({2, 0, 2})), "merge_heads", "[2, 0, 2]",
                      "heads [2, 0, 2] holds no token");
}

// ---------------------------------------------------------------- 4.3 key/value head

TEST_CASE("4.3 kv_head_for: consecutive query heads share a key/value head", "[4.3]") {
    const char* modulo =
        "h % n_kv_heads deals the query heads out round-robin; the group of a key/value head "
        "is n_heads / n_kv_heads consecutive query heads: h / (n_heads / n_kv_heads)";
    CHECK_THAT(kv_heads(8, 2), IsClose(ref().vector("kv_heads.8_2"), 0)
                                   .or_mistake(ref().vector("kv_heads.8_2_modulo"), modulo));
    CHECK_THAT(kv_heads(6, 3), IsClose(ref().vector("kv_heads.6_3"), 0)
                                   .or_mistake(ref().vector("kv_heads.6_3_modulo"), modulo));
}

TEST_CASE("4.3 kv_head_for: as many kv heads as query heads is MHA, one is MQA", "[4.3]") {
    CHECK_THAT(kv_heads(8, 8), IsClose(ref().vector("kv_heads.8_8"), 0));
    CHECK_THAT(kv_heads(8, 1), IsClose(ref().vector("kv_heads.8_1"), 0));
}

TEST_CASE("4.3 kv_head_for: rejects head counts that do not divide, and heads out of range",
          "[4.3]") {
    CHECK_SHAPE_ERROR(ex::kv_head_for(0, 8, 3), "kv_head_for", "3",
                      "n_heads = 8 is not a multiple of n_kv_heads = 3");
    CHECK_SHAPE_ERROR(ex::kv_head_for(0, 8, 0), "kv_head_for", "0", "n_kv_heads = 0");
    CHECK_SHAPE_ERROR(ex::kv_head_for(8, 8, 2), "kv_head_for", "8",
                      "head 8 does not exist when n_heads = 8 (heads 0..7)");
}

// ---------------------------------------------------------------- 4.4 multi-head attention

TEST_CASE("4.4 multi_head_attention: one head is chapter 03's attention, then W_o", "[4.4]") {
    const Matrix x = ref().matrix("mha.x");
    const Matrix w_q = ref().matrix("mha4.w_q"), w_k = ref().matrix("mha4.w_k"),
                 w_v = ref().matrix("mha4.w_v"), w_o = ref().matrix("mha4.w_o");
    const attn::AttentionResult one =
        attn::causal_self_attention(x, attn::Projections{w_q, w_k, w_v});
    const Matrix expected = xt::linalg::dot(one.output, w_o);
    CHECK_THAT(ex::multi_head_attention(x, w_q, w_k, w_v, w_o, 1, 1, true),
               IsClose(expected).or_mistake(one.output, no_w_o));
}

TEST_CASE("4.4 multi_head_attention: 2 and 4 causal heads match PyTorch", "[4.4]") {
    CHECK_THAT(mha("mha2", 2, 2, true), is_reference("mha2"));
    CHECK_THAT(mha("mha4", 4, 4, true), is_reference("mha4"));
}

TEST_CASE("4.4 multi_head_attention: without the causal mask, matches PyTorch", "[4.4]") {
    CHECK_THAT(mha("mha4_full", 4, 4, false), is_reference("mha4_full"));
}

TEST_CASE(
    "4.4 multi_head_attention: grouped-query (4 heads, 2 kv heads) and multi-query match "
    "PyTorch",
    "[4.4]") {
    CHECK_THAT(mha("gqa4_2", 4, 2, true), is_reference("gqa4_2"));
    CHECK_THAT(mha("mqa4", 4, 1, true), is_reference("mqa4"));
}

TEST_CASE("4.4 multi_head_attention: causal: a later token cannot change an earlier output",
          "[4.4]") {
    Matrix x = ref().matrix("mha.x");
    const Matrix before = mha("mha4", 4, 4, true);
    x(4, 0) += 10.0f;  // change the last token
    const Matrix after =
        ex::multi_head_attention(x, ref().matrix("mha4.w_q"), ref().matrix("mha4.w_k"),
                                 ref().matrix("mha4.w_v"), ref().matrix("mha4.w_o"), 4, 4, true);
    INFO("changing token 4 must leave the outputs of tokens 0..3 exactly as they were");
    CHECK_THAT(Matrix(xt::view(after, xt::range(0, 4), xt::all())),
               IsClose(Matrix(xt::view(before, xt::range(0, 4), xt::all())), 0));
}

TEST_CASE("4.4 multi_head_attention: rejects head counts and weights that do not fit", "[4.4]") {
    const Matrix x = ref().matrix("mha.x");          // [5, 8]
    const Matrix w = ref().matrix("mha4.w_q");       // [8, 8]
    const Matrix w_kv = ref().matrix("gqa4_2.w_k");  // [8, 4]
    CHECK_SHAPE_ERROR(ex::multi_head_attention(x, w, w, w, w, 3, 3, true), "multi_head_attention",
                      "3", "d_model = 8 is not a multiple of n_heads = 3");
    CHECK_SHAPE_ERROR(ex::multi_head_attention(x, w, w, w, w, 4, 3, true), "multi_head_attention",
                      "3", "n_heads = 4 is not a multiple of n_kv_heads = 3");
    CHECK_SHAPE_ERROR(ex::multi_head_attention(x, w, w_kv, w, w, 4, 2, true),
                      "multi_head_attention", "[8, 8]",
                      "w_v [8, 8] should be [d_model, n_kv_heads * d_head] = [8, 4]");
    CHECK_SHAPE_ERROR(ex::multi_head_attention(x, w, w, w, w_kv, 4, 4, true),
                      "multi_head_attention", "[8, 4]", "w_o [8, 4] should be [8, 8]");
    CHECK_SHAPE_ERROR(ex::multi_head_attention(Matrix::from_shape({0, 8}), w, w, w, w, 4, 4, true),
                      "multi_head_attention", "[0, 8]", "x [0, 8] holds no token");
}

// ---------------------------------------------------------------- probes and every size
//
// A probe switches a part off or makes it the identity, so a failure says which part is
// wrong. The sweeps run each exercise on inputs of growing size against chapter 04's own
// functions; a failure shows the smallest input that fails, whole.

using attn::test::check_every_size;
using attn::test::named;
using attn::test::readable_matrix;
using attn::test::Trial;

namespace {
// A multi-head configuration of the sweep.
struct Heads {
    std::size_t T, n_heads, n_kv_heads, d_head;
    bool causal;
};

std::vector<Heads> head_configurations() {
    std::vector<Heads> out;
    const std::size_t counts[][2] = {{1, 1}, {2, 2}, {2, 1}, {3, 3}, {4, 2}};
    for (std::size_t T = 1; T <= 3; ++T)
        for (const auto& c : counts)
            for (std::size_t d_head = 1; d_head <= 2; ++d_head)
                for (bool causal : {true, false}) out.push_back({T, c[0], c[1], d_head, causal});
    std::stable_sort(out.begin(), out.end(), [](const Heads& a, const Heads& b) {
        return a.T * a.n_heads * a.d_head < b.T * b.n_heads * b.d_head;
    });
    return out;
}

std::string heads_text(const Heads& c) {
    return "T = " + std::to_string(c.T) + ", n_heads = " + std::to_string(c.n_heads) +
           ", n_kv_heads = " + std::to_string(c.n_kv_heads) +
           ", d_head = " + std::to_string(c.d_head) + (c.causal ? ", causal" : ", not causal");
}
}  // namespace

TEST_CASE("4.1 split_heads: every size from T = 1, one head of width 1", "[4.1]") {
    std::vector<Heads> sizes;
    for (const Heads& c : head_configurations())
        if (c.causal && c.n_kv_heads == c.n_heads) sizes.push_back(c);
    check_every_size<3>(
        sizes,
        [](const Heads& c, Trial<3>& t) {
            const Matrix x = readable_matrix(c.T, c.n_heads * c.d_head, 1);
            t.slices = "head";
            t.input = "T = " + std::to_string(c.T) + ", n_heads = " + std::to_string(c.n_heads) +
                      ", d_head = " + std::to_string(c.d_head) + "\n" + named("x", x);
            t.expected = attn::split_heads(x, c.n_heads);
            t.actual = ex::split_heads(x, c.n_heads);
        },
        0);
}

TEST_CASE("4.2 merge_heads: every size from one head, T = 1, width 1", "[4.2]") {
    std::vector<Heads> sizes;
    for (const Heads& c : head_configurations())
        if (c.causal && c.n_kv_heads == c.n_heads) sizes.push_back(c);
    check_every_size<2>(
        sizes,
        [](const Heads& c, Trial<2>& t) {
            const Tensor3 heads =
                attn::split_heads(readable_matrix(c.T, c.n_heads * c.d_head, 2), c.n_heads);
            t.d_head = c.d_head;
            t.input = "n_heads = " + std::to_string(c.n_heads) + ", T = " + std::to_string(c.T) +
                      ", d_head = " + std::to_string(c.d_head) + "\n" + named("heads", heads);
            t.expected = attn::merge_heads(heads);
            t.actual = ex::merge_heads(heads);
        },
        0);
}

TEST_CASE("4.3 kv_head_for: every query head, for every head count up to 8", "[4.3]") {
    std::vector<std::array<std::size_t, 2>> counts;
    for (std::size_t n_heads = 1; n_heads <= 8; ++n_heads)
        for (std::size_t n_kv = 1; n_kv <= n_heads; ++n_kv)
            if (n_heads % n_kv == 0) counts.push_back({n_heads, n_kv});
    check_every_size<1>(
        counts,
        [](const std::array<std::size_t, 2>& c, Trial<1>& t) {
            t.input = "n_heads = " + std::to_string(c[0]) +
                      ", n_kv_heads = " + std::to_string(c[1]) +
                      " (element h: the key/value head of query head h)";
            t.expected = xt::zeros<float>({c[0]});
            for (std::size_t h = 0; h < c[0]; ++h)
                t.expected(h) = static_cast<float>(attn::kv_head_for(h, c[0], c[1]));
            t.actual = kv_heads(c[0], c[1]);
        },
        0);
}

TEST_CASE("4.4 multi_head_attention: probes: which part is wired wrong", "[4.4]") {
    // x is square (T = d_model = 4), so that an element-wise product in place of a matrix
    // product gives numbers, not a broadcast error.
    const Matrix x = readable_matrix(4, 4, 21);
    const Matrix eye = xt::eye<float>(4);
    const Matrix w_q = readable_matrix(4, 4, 22), w_k = readable_matrix(4, 4, 23),
                 w_v = readable_matrix(4, 4, 24), w_o = readable_matrix(4, 4, 25);
    const Matrix w_k2 = readable_matrix(4, 2, 26), w_v2 = readable_matrix(4, 2, 27);
    attn::test::ProbeChain probes;
    const auto probe = [&](const std::string& label, const std::string& isolates,
                           const attn::MultiHeadWeights& w, bool causal) {
        probes.check(
            label, isolates,
            [&] {
                return ex::multi_head_attention(x, w.w_q, w.w_k, w.w_v, w.w_o, w.n_heads,
                                                w.n_kv_heads, causal);
            },
            IsClose(attn::multi_head_attention(x, w, causal).output)
                .columns_are_heads(4 / w.n_heads)
                .on_input(named("x", x) + "\n" + named("w_q", w.w_q) + "\n" + named("w_k", w.w_k) +
                          "\n" + named("w_v", w.w_v) + "\n" + named("w_o", w.w_o) +
                          "\nn_heads = " + std::to_string(w.n_heads) + ", n_kv_heads = " +
                          std::to_string(w.n_kv_heads) + (causal ? ", causal" : ", not causal")));
    };
    probe("one head, every weight I",
          "with W_q = W_k = W_v = W_o = I, Q = K = V = x and W_o changes nothing, so the output "
          "is chapter 03's causal attention of x over itself, softmax(x x^T / sqrt(4) + mask) x; "
          "a difference here is in the attention itself (the scores Q K^T divided by "
          "sqrt(d_head), the causal mask, the softmax along each row, the weights times V) or "
          "in how a weight is applied: x W is a matrix product, xt::linalg::dot (* multiplies "
          "element by element)",
          {eye, eye, eye, eye, 1, 1}, true);
    probe("one head, W_o = I",
          "with one head and W_o = I the output is the attention of x W_q, x W_k, x W_v: a "
          "difference here is in the projections, Q = x W_q, K = x W_k, V = x W_v, each a "
          "matrix product with its own weight, as given",
          {w_q, w_k, w_v, eye, 1, 1}, true);
    probe("one head, every weight as given",
          "with one head the merged heads are that head's output, so the answer is it times "
          "W_o: a difference here is in the output projection, the merged heads [T, d_model] "
          "times W_o as given (xt::linalg::dot(merged, w_o), not W_o transposed)",
          {w_q, w_k, w_v, w_o, 1, 1}, true);
    probe("two heads, every weight I",
          "with two heads and every weight I, head h attends with columns 2h, 2h + 1 of x, its "
          "scores divided by sqrt(d_head) = sqrt(2), and its output goes back into those "
          "columns: a difference here is in the split into heads (contiguous blocks of d_head "
          "columns, split_heads), the key/value head each query head reads (with as many as "
          "query heads, head h reads key/value head h), the scale of each head or the merge "
          "(head 0's block first)",
          {eye, eye, eye, eye, 2, 2}, true);
    probe("two heads, every weight as given",
          "the heads and the projections are right alone: a difference here is in W_o, which "
          "multiplies the merged heads as a whole, so that it mixes the heads (not each head "
          "by its own block of W_o)",
          {w_q, w_k, w_v, w_o, 2, 2}, true);
    probe("four heads sharing two key/value heads",
          "with n_kv_heads = 2, query heads 0, 1 use key/value head 0 and heads 2, 3 use head 1 "
          "(4.3's h / (n_heads / n_kv_heads)): a difference here is in which key/value head "
          "each query head reads, or in splitting K and V into n_kv_heads heads",
          {w_q, w_k2, w_v2, w_o, 4, 2}, true);
    probe("not causal",
          "with causal false every query sees every key: a difference here is in the mask "
          "(none when not causal, chapter 03's causal mask when causal)",
          {w_q, w_k, w_v, w_o, 2, 2}, false);
}

TEST_CASE("4.4 multi_head_attention: probe: with W_o = I the output is the merged heads", "[4.4]") {
    for (const std::string name : {"mha4", "gqa4_2"}) {
        const Matrix x = ref().matrix("mha.x");
        const std::size_t n_kv = name == "mha4" ? 4 : 2;
        const attn::MultiHeadWeights w{ref().matrix(name + ".w_q"),
                                       ref().matrix(name + ".w_k"),
                                       ref().matrix(name + ".w_v"),
                                       xt::eye<float>(8),
                                       4,
                                       n_kv};
        INFO(
            "probe: with W_o the identity, the output must be the four heads side by side (2 "
            "columns each), as chapter 04 computes them ("
            << name << ")");
        CHECK_THAT(ex::multi_head_attention(x, w.w_q, w.w_k, w.w_v, w.w_o, 4, n_kv, true),
                   IsClose(attn::multi_head_attention(x, w, true).heads).columns_are_heads(2));
    }
}

TEST_CASE(
    "4.4 multi_head_attention: every size from T = 1, one head of width 1, then scores "
    "hundreds apart",
    "[4.4]") {
    std::vector<Heads> sizes = head_configurations();
    sizes.push_back({3, 2, 2, 102, true});  // d_head 2, x times 20: scores in the hundreds
    check_every_size<2>(
        sizes,
        [](const Heads& given, Trial<2>& t) {
            Heads c = given;
            const float scale = c.d_head > 100 ? 20.0f : 1.0f;
            c.d_head %= 100;
            const std::size_t d_model = c.n_heads * c.d_head, d_kv = c.n_kv_heads * c.d_head;
            const Matrix x = readable_matrix(c.T, d_model, 3) * scale;
            const attn::MultiHeadWeights w{readable_matrix(d_model, d_model, 4),
                                           readable_matrix(d_model, d_kv, 5),
                                           readable_matrix(d_model, d_kv, 6),
                                           readable_matrix(d_model, d_model, 7),
                                           c.n_heads,
                                           c.n_kv_heads};
            t.input = heads_text(c) + "\n" + named("x", x) + "\n" + named("w_q", w.w_q) + "\n" +
                      named("w_k", w.w_k) + "\n" + named("w_v", w.w_v) + "\n" + named("w_o", w.w_o);
            t.expected = attn::multi_head_attention(x, w, c.causal).output;
            t.actual = ex::multi_head_attention(x, w.w_q, w.w_k, w.w_v, w.w_o, c.n_heads,
                                                c.n_kv_heads, c.causal);
        },
        1e-4f);
}
