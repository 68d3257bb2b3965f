// Tests for the chapter 05 exercises; the tag ([5.1]) is the exercise's number.
//
// Expected values: the worked examples of exercises.hpp (by hand) and
// tests/reference/ch05.txt (PyTorch's F.layer_norm, F.gelu and a pre-LN block written out
// in torch, see generate.py), which also holds the answers of the known mistakes.
#include "exercises.hpp"

#include "chapters/05_transformer_block/transformer_block.hpp"
#include "every_size.hpp"
#include "matchers.hpp"
#include "reference.hpp"
#include "unchanged.hpp"

#include <xtensor-blas/xlinalg.hpp>
#include <xtensor/xbuilder.hpp>
#include <xtensor/xview.hpp>

#include <stdexcept>
#include <string>

using attn::Matrix;
using attn::Vector;
using attn::test::IsClose;
using attn::test::Reference;
// The exercises as the tests call them (ex::name): each call fails the test when the answer
// changes an argument it takes by const reference (tests/support/unchanged.hpp).
namespace ex {
using namespace attn::ex05;  // the exercises' types
using attn::test::KeepsInputs;
constexpr KeepsInputs<&attn::ex05::layer_norm> layer_norm{"layer_norm", "x", "gain", "bias", "eps"};
constexpr KeepsInputs<&attn::ex05::gelu_tanh> gelu_tanh{"gelu_tanh", "x"};
constexpr KeepsInputs<&attn::ex05::rms_norm> rms_norm{"rms_norm", "x", "gain", "eps"};
constexpr KeepsInputs<&attn::ex05::pre_ln_block> pre_ln_block{"pre_ln_block", "x", "w"};
}  // namespace ex

namespace {
// 5.2: sqrt(2)/pi for sqrt(2/pi) inside the tanh.
Matrix gelu_sqrt2_over_pi(const Matrix& x) {
    if (x.size() == 0) throw std::invalid_argument("attn::ex05::gelu_tanh: x is empty");
    const float c = std::sqrt(2.0f) / 3.14159265f;
    return 0.5f * x * (1.0f + xt::tanh(c * (x + 0.044715f * x * x * x)));
}
const attn::test::MistakeFormulas<&attn::ex05::gelu_tanh> gelu_mistakes{
    {"the constant in the tanh is sqrt(2)/pi = 0.450; it is sqrt(2/pi) = 0.798",
     &gelu_sqrt2_over_pi}};

// 5.3: the root mean square taken of gain * x instead of x.
Matrix rms_of_gain_times_x(const Matrix& x, const Vector& gain, float eps) {
    attn::rms_norm(x, gain, eps);  // throws where the answer must
    const Matrix gx = x * gain;
    return attn::rms_norm(gx, Vector(xt::ones<float>({gain.size()})), eps);
}
// 5.1: the variance in one pass in float, mean(x^2) - mean^2, which cancels when a row's
// mean is large next to its spread.
Matrix one_pass_variance(const Matrix& x, const Vector& gain, const Vector& bias, float eps) {
    attn::layer_norm(x, gain, bias, eps);  // throws where the answer must
    Matrix y = x;
    const std::size_t d = x.shape(1);
    for (std::size_t t = 0; t < x.shape(0); ++t) {
        float sum = 0.0f, squares = 0.0f;
        for (std::size_t i = 0; i < d; ++i) sum += x(t, i), squares += x(t, i) * x(t, i);
        const float mean = sum / static_cast<float>(d);
        const float var = squares / static_cast<float>(d) - mean * mean;
        for (std::size_t i = 0; i < d; ++i)
            y(t, i) = (x(t, i) - mean) / std::sqrt(var + eps) * gain(i) + bias(i);
    }
    return y;
}
const attn::test::MistakeFormulas<&attn::ex05::rms_norm> rms_mistakes{
    {"the root mean square is taken of gain * x: it is of x alone, and the gain multiplies "
     "afterwards",
     &rms_of_gain_times_x}};
const attn::test::MistakeFormulas<&attn::ex05::layer_norm> layer_norm_mistakes{
    {"the variance is mean(x^2) - mean^2 in float, which cancels on a row whose mean is "
     "large next to its spread: take the mean of (x - mean)^2",
     &one_pass_variance}};
}  // namespace

namespace {
const Reference& ref() {
    return Reference::load("ch05");
}

// The reference block's weights: 2 heads, d_model 8, d_ff 32, every bias and gain in play.
ex::Block reference_block() {
    const auto m = [](const std::string& name) { return ref().matrix("block." + name); };
    const auto v = [](const std::string& name) { return ref().vector("block." + name); };
    ex::Block b;
    b.ln1_gain = v("ln1_gain");
    b.ln1_bias = v("ln1_bias");
    b.attention = {m("w_q"), m("w_k"), m("w_v"), m("w_o"), 2,
                   2,        v("b_q"), v("b_k"), v("b_v"), v("b_o")};
    b.ln2_gain = v("ln2_gain");
    b.ln2_bias = v("ln2_bias");
    b.w1 = m("w1");
    b.b1 = v("b1");
    b.w2 = m("w2");
    b.b2 = v("b2");
    return b;
}

// The same weights as chapter 05's BlockWeights, which compute the expected results.
attn::BlockWeights as_block_weights(const ex::Block& b) {
    return {b.ln1_gain, b.ln1_bias, b.attention, b.ln2_gain, b.ln2_bias, {b.w1, b.b1, b.w2, b.b2}};
}

constexpr const char* post_ln =
    "post-LN (the norm after the residual, as in 2017): GPT-2 normalises before each "
    "sub-layer, x + MHA(LN1(x))";
constexpr const char* no_attention_residual =
    "the attention's residual is missing: h = x + MHA(LN1(x))";
constexpr const char* no_ffn_residual =
    "the feed-forward network's residual is missing: y = h + FFN(LN2(h))";
constexpr const char* exact_gelu =
    "the exact (erf) GELU in the feed-forward network: GPT-2 uses the tanh form";
constexpr const char* ffn_reads_x =
    "the feed-forward network reads LN2(x): it reads LN2(h), h = x + MHA(LN1(x)) being the "
    "stream after the attention's residual";
constexpr const char* ffn_reads_ln1 =
    "the feed-forward network reads LN1(x), the attention's normalised input: it reads "
    "LN2(h), h = x + MHA(LN1(x)) normalised by the second norm";
constexpr const char* ffn_unnormed =
    "the feed-forward network reads h without the second norm: y = h + FFN(LN2(h))";
constexpr const char* ln2_with_ln1 =
    "the second norm uses ln1_gain and ln1_bias: LN2 has its own, ln2_gain and ln2_bias";
constexpr const char* not_causal =
    "the attention is not causal: GPT-2's block attends with chapter 03's causal mask";

// The known mistakes of 5.4 as formulas: chapter 05's block with one thing wired wrong.
enum class Wiring {
    post_ln,
    no_attention_residual,
    no_ffn_residual,
    exact_gelu,
    ffn_reads_x,
    ffn_reads_ln1,
    ffn_unnormed,
    ln2_with_ln1,
    not_causal
};

template <Wiring how>
Matrix wired(const Matrix& x, const ex::Block& w) {
    attn::transformer_block(x, as_block_weights(w));  // refuses what the reference refuses
    const auto ln = [](const Matrix& z, const Vector& gain, const Vector& bias) {
        return attn::layer_norm(z, gain, bias, 1e-5f);
    };
    const auto attention = [&](const Matrix& z) {
        return attn::multi_head_attention(z, w.attention, how != Wiring::not_causal).output;
    };
    const auto ffn = [&](const Matrix& z) -> Matrix {
        Matrix hidden = xt::linalg::dot(z, w.w1);
        hidden += w.b1;
        Matrix out = xt::linalg::dot(
            how == Wiring::exact_gelu ? attn::gelu_exact(hidden) : attn::gelu(hidden), w.w2);
        out += w.b2;
        return out;
    };
    if (how == Wiring::post_ln) {
        const Matrix h = ln(x + attention(x), w.ln1_gain, w.ln1_bias);
        return ln(h + ffn(h), w.ln2_gain, w.ln2_bias);
    }
    const Matrix normed = ln(x, w.ln1_gain, w.ln1_bias);
    const Matrix attended = attention(normed);
    const Matrix h = how == Wiring::no_attention_residual ? attended : Matrix(x + attended);
    Matrix into_ffn = ln(h, w.ln2_gain, w.ln2_bias);
    if (how == Wiring::ffn_reads_x) into_ffn = ln(x, w.ln2_gain, w.ln2_bias);
    if (how == Wiring::ffn_reads_ln1) into_ffn = normed;
    if (how == Wiring::ffn_unnormed) into_ffn = h;
    if (how == Wiring::ln2_with_ln1) into_ffn = ln(h, w.ln1_gain, w.ln1_bias);
    const Matrix out = ffn(into_ffn);
    return how == Wiring::no_ffn_residual ? out : Matrix(h + out);
}

// Weighed on every call of ex::pre_ln_block (tests/support/unchanged.hpp): named only when
// the answer's output is the formula's on every input the tests give.
const attn::test::MistakeFormulas<&attn::ex05::pre_ln_block> block_mistakes{
    {post_ln, &wired<Wiring::post_ln>},
    {no_attention_residual, &wired<Wiring::no_attention_residual>},
    {no_ffn_residual, &wired<Wiring::no_ffn_residual>},
    {exact_gelu, &wired<Wiring::exact_gelu>},
    {ffn_reads_x, &wired<Wiring::ffn_reads_x>},
    {ffn_reads_ln1, &wired<Wiring::ffn_reads_ln1>},
    {ffn_unnormed, &wired<Wiring::ffn_unnormed>},
    {ln2_with_ln1, &wired<Wiring::ln2_with_ln1>},
    {not_causal, &wired<Wiring::not_causal>}};
}  // namespace

// ---------------------------------------------------------------- 5.1 layer norm

TEST_CASE("5.1 layer_norm: the worked example", "[5.1]") {
    CHECK_THAT(
        ex::layer_norm(Matrix{{1, 2, 3, 4}}, xt::ones<float>({4}), xt::zeros<float>({4}), 0.0f),
        IsClose(Matrix{{-1.34164079f, -0.447213595f, 0.447213595f, 1.34164079f}})
            .or_mistake(Matrix{{-1.161895f, -0.387298f, 0.387298f, 1.161895f}},
                        "the unbiased variance (divided by d_model - 1): layer norm divides by "
                        "d_model"));
}

TEST_CASE("5.1 layer_norm: matches PyTorch's F.layer_norm", "[5.1]") {
    const Matrix x = ref().matrix("ln.x");
    CHECK_THAT(
        ex::layer_norm(x, ref().vector("ln.gain"), ref().vector("ln.bias"), 1e-5f),
        IsClose(ref().matrix("ln.out"), 1e-4f)
            .or_mistake(ref().matrix("ln.unbiased"),
                        "the unbiased variance (divided by d_model - 1): layer norm divides by "
                        "d_model")
            .or_mistake(ref().matrix("ln.eps_outside"),
                        "eps added outside the square root: sqrt(variance + eps)")
            .or_mistake(ref().matrix("ln.wrong_axis"),
                        "normalised over the tokens (columns) instead of each token's features "
                        "(its row)"));
}

TEST_CASE("5.1 layer_norm: each row comes out with mean 0 and variance 1 (gain 1, bias 0)",
          "[5.1]") {
    const Matrix y =
        ex::layer_norm(ref().matrix("ln.x"), xt::ones<float>({8}), xt::zeros<float>({8}), 1e-5f);
    REQUIRE(y.shape(0) == 4);
    const Vector mean = xt::mean(y, {1});
    CHECK_THAT(mean, IsClose(Vector(xt::zeros<float>({4})), 1e-4f));
    const Vector variance = xt::mean(xt::square(y), {1});
    CHECK_THAT(Vector(xt::view(variance, xt::range(0, 3))), IsClose(Vector{1, 1, 1}, 1e-3f));
}

TEST_CASE("5.1 layer_norm: rejects a gain or bias of the wrong size", "[5.1]") {
    const Matrix x = ref().matrix("ln.x");
    CHECK_SHAPE_ERROR(ex::layer_norm(x, xt::ones<float>({7}), xt::zeros<float>({8}), 1e-5f),
                      "layer_norm", "[7]", "gain [7] does not match d_model = 8");
    CHECK_SHAPE_ERROR(ex::layer_norm(x, xt::ones<float>({8}), xt::zeros<float>({9}), 1e-5f),
                      "layer_norm", "[9]", "bias [9] does not match d_model = 8");
    CHECK_SHAPE_ERROR(ex::layer_norm(Matrix::from_shape({0, 8}), xt::ones<float>({8}),
                                     xt::zeros<float>({8}), 1e-5f),
                      "layer_norm", "[0, 8]", "x [0, 8] holds no token");
}

// ---------------------------------------------------------------- 5.2 GELU

TEST_CASE("5.2 gelu_tanh: the worked example", "[5.2]") {
    CHECK_THAT(ex::gelu_tanh(Matrix{{-1, 0, 1, 2}}),
               IsClose(Matrix{{-0.158808009f, 0, 0.841191991f, 1.95459769f}})
                   .or_mistake(Matrix{{-0.158655254f, 0, 0.841344746f, 1.95449974f}},
                               "the exact (erf) GELU: GPT-2 uses the tanh approximation"));
}

TEST_CASE("5.2 gelu_tanh: matches PyTorch's F.gelu(x, approximate='tanh')", "[5.2]") {
    CHECK_THAT(ex::gelu_tanh(ref().matrix("gelu.x")),
               IsClose(ref().matrix("gelu.tanh"))
                   .or_mistake(ref().matrix("gelu.exact"),
                               "the exact (erf) GELU: GPT-2 uses the tanh approximation"));
}

TEST_CASE("5.2 gelu_tanh: rejects an empty matrix", "[5.2]") {
    CHECK_SHAPE_ERROR(ex::gelu_tanh(Matrix::from_shape({0, 3})), "gelu_tanh", "[0, 3]",
                      "x [0, 3] is empty");
}

// ---------------------------------------------------------------- 5.3 RMSNorm

TEST_CASE("5.3 rms_norm: the worked example", "[5.3]") {
    CHECK_THAT(ex::rms_norm(Matrix{{3, 4}}, xt::ones<float>({2}), 0.0f),
               IsClose(Matrix{{0.848528137f, 1.13137085f}})
                   .or_mistake(Matrix{{-1, 1}},
                               "the mean was subtracted: RMSNorm keeps it, it only divides by "
                               "the root mean square"));
}

TEST_CASE("5.3 rms_norm: matches PyTorch", "[5.3]") {
    CHECK_THAT(
        ex::rms_norm(ref().matrix("rms.x"), ref().vector("rms.gain"), 1e-5f),
        IsClose(ref().matrix("rms.out"))
            .or_mistake(ref().matrix("rms.mean_subtracted"),
                        "the mean was subtracted: RMSNorm keeps it, it only divides by the root "
                        "mean square"));
}

TEST_CASE("5.3 rms_norm: rejects a gain of the wrong size", "[5.3]") {
    CHECK_SHAPE_ERROR(ex::rms_norm(ref().matrix("rms.x"), xt::ones<float>({3}), 1e-5f), "rms_norm",
                      "[3]", "gain [3] does not match d_model = 8");
    CHECK_SHAPE_ERROR(ex::rms_norm(Matrix::from_shape({0, 8}), xt::ones<float>({8}), 1e-5f),
                      "rms_norm", "[0, 8]", "x [0, 8] holds no token");
}

// ---------------------------------------------------------------- 5.4 pre-LN block
// The comparison with PyTorch comes first: its mistakes are the most specific.

TEST_CASE("5.4 pre_ln_block: matches a GPT-2 block written in PyTorch", "[5.4]") {
    CHECK_THAT(ex::pre_ln_block(ref().matrix("block.x"), reference_block()),
               IsClose(ref().matrix("block.out"), 1e-4f)
                   .or_mistake(ref().matrix("block.post_ln"), post_ln)
                   .or_mistake(ref().matrix("block.no_attention_residual"), no_attention_residual)
                   .or_mistake(ref().matrix("block.no_ffn_residual"), no_ffn_residual)
                   .or_mistake(ref().matrix("block.exact_gelu"), exact_gelu));
}

TEST_CASE("5.4 pre_ln_block: with every weight 0 both sub-layers add nothing", "[5.4]") {
    ex::Block zero;
    zero.ln1_gain = zero.ln2_gain = xt::ones<float>({8});
    zero.ln1_bias = zero.ln2_bias = zero.b2 = xt::zeros<float>({8});
    const Matrix z8 = xt::zeros<float>({8, 8});
    zero.attention = {z8, z8, z8, z8, 2, 2};
    zero.w1 = xt::zeros<float>({8, 32});
    zero.b1 = xt::zeros<float>({32});
    zero.w2 = xt::zeros<float>({32, 8});
    const Matrix x = ref().matrix("block.x");
    CHECK_THAT(
        ex::pre_ln_block(x, zero),
        IsClose(x).or_mistake(xt::zeros<float>(x.shape()),
                              "the residual is missing: each sub-layer adds its result to x"));
}

TEST_CASE("5.4 pre_ln_block: causal: a later token cannot change an earlier output", "[5.4]") {
    Matrix x = ref().matrix("block.x");
    const ex::Block b = reference_block();
    const Matrix before = ex::pre_ln_block(x, b);
    x(4, 2) += 5.0f;
    const Matrix after = ex::pre_ln_block(x, b);
    INFO("changing token 4 must leave the outputs of tokens 0..3 as they were");
    CHECK_THAT(Matrix(xt::view(after, xt::range(0, 4), xt::all())),
               IsClose(Matrix(xt::view(before, xt::range(0, 4), xt::all())), 0));
}

TEST_CASE("5.4 pre_ln_block: rejects weights that do not fit d_model", "[5.4]") {
    ex::Block b = reference_block();
    b.ln1_gain = xt::ones<float>({6});
    CHECK_SHAPE_ERROR(ex::pre_ln_block(ref().matrix("block.x"), b), "pre_ln_block", "[6]",
                      "ln1_gain [6] does not match d_model = 8");
    b = reference_block();
    b.w2 = xt::zeros<float>({32, 6});
    CHECK_SHAPE_ERROR(ex::pre_ln_block(ref().matrix("block.x"), b), "pre_ln_block", "[32, 6]",
                      "w2 [32, 6] should be [d_ff, d_model] = [32, 8]");
    CHECK_SHAPE_ERROR(ex::pre_ln_block(Matrix::from_shape({0, 8}), reference_block()),
                      "pre_ln_block", "[0, 8]", "x [0, 8] holds no token");
}

// ---------------------------------------------------------------- probes and every size
//
// A probe switches one path of the block off, so a failure says which path is wrong. The
// sweeps run each exercise on inputs of growing size against chapter 05's own functions; a
// failure shows the smallest input that fails, whole.

using attn::test::check_every_size;
using attn::test::Dims;
using attn::test::dims_up_to;
using attn::test::named;
using attn::test::readable_matrix;
using attn::test::readable_vector;
using attn::test::Trial;

TEST_CASE("5.4 pre_ln_block: probes: the residual stream, each path alone, then both", "[5.4]") {
    const Matrix x = ref().matrix("block.x");
    attn::test::ProbeChain probes;
    const auto probe = [&](const std::string& label, const std::string& isolates,
                           const ex::Block& b) {
        probes.check(
            label, isolates, [&] { return ex::pre_ln_block(x, b); },
            IsClose(attn::transformer_block(x, as_block_weights(b)), 1e-4f));
    };
    ex::Block no_attention = reference_block();
    no_attention.attention.w_o = xt::zeros<float>(no_attention.attention.w_o.shape());
    no_attention.attention.b_o = xt::zeros<float>(no_attention.attention.b_o.shape());
    ex::Block neither = no_attention;
    neither.w2 = xt::zeros<float>(neither.w2.shape());
    neither.b2 = xt::zeros<float>(neither.b2.shape());
    probe("both paths off (the attention's W_o, b_o and the feed-forward's W2, b2 zero)",
          "neither path adds anything, so the block must return x itself: a difference here is "
          "in the residual stream, what each residual adds onto (x, then h = x + MHA(LN1(x)); "
          "not LN1(x) or LN2(h), which only the paths read)",
          neither);
    probe("the attention off (its W_o and b_o zero)",
          "the attention adds nothing, so h = x and the block must return x + FFN(LN2(x)): a "
          "difference here is in the feed-forward path (LN2 with ln2_gain and ln2_bias, W1, "
          "b1, the tanh GELU, W2, b2) or its residual",
          no_attention);
    ex::Block no_ffn = reference_block();
    no_ffn.w2 = xt::zeros<float>(no_ffn.w2.shape());
    no_ffn.b2 = xt::zeros<float>(no_ffn.b2.shape());
    probe("the feed-forward network off (W2 and b2 zero)",
          "the feed-forward network adds nothing, so the block must return h = x + "
          "MHA(LN1(x)) unchanged: a difference here is in the attention path (LN1 with "
          "ln1_gain and ln1_bias, the causal attention with its biases, its residual onto x), "
          "or the output is not h plus the feed-forward network's result",
          no_ffn);
    probe("both paths on",
          "each path is right alone, so what is wrong is how they connect: the feed-forward "
          "network reads LN2(h), h = x + MHA(LN1(x)) being the stream after the first "
          "residual (not x, not LN1(x)), and its result is added to h",
          reference_block());
}

TEST_CASE("5.1 layer_norm: every size from one number, a constant row included", "[5.1]") {
    check_every_size<2>(
        dims_up_to(3, 4),
        [](const Dims& s, Trial<2>& t) {
            Matrix x = readable_matrix(s.T, s.d, 1);
            xt::view(x, 0, xt::all()) = 1.5f;  // a constant row: variance 0, eps keeps it finite
            const Vector gain = readable_vector(s.d, 2), bias = readable_vector(s.d, 3);
            t.input = "T = " + std::to_string(s.T) + ", d_model = " + std::to_string(s.d) +
                      ", eps = 1e-5\n" + named("x", x) + "\n" + named("gain", gain) + "\n" +
                      named("bias", bias);
            t.expected = attn::layer_norm(x, gain, bias, 1e-5f);
            t.actual = ex::layer_norm(x, gain, bias, 1e-5f);
        },
        1e-4f);
}

TEST_CASE("5.2 gelu_tanh: every size from one number", "[5.2]") {
    check_every_size<2>(dims_up_to(2, 5), [](const Dims& s, Trial<2>& t) {
        const Matrix x = readable_matrix(s.T, s.d, 4) * 2.0f;
        t.input = named("x", x);
        t.expected = attn::gelu(x);
        t.actual = ex::gelu_tanh(x);
    });
}

TEST_CASE("5.3 rms_norm: every size from one number, a row of zeros included", "[5.3]") {
    check_every_size<2>(
        dims_up_to(3, 4),
        [](const Dims& s, Trial<2>& t) {
            Matrix x = readable_matrix(s.T, s.d, 5);
            xt::view(x, 0, xt::all()) = 0.0f;  // a row of zeros: eps keeps 0 / 0 away
            const Vector gain = readable_vector(s.d, 6);
            t.input = "T = " + std::to_string(s.T) + ", d_model = " + std::to_string(s.d) +
                      ", eps = 1e-5\n" + named("x", x) + "\n" + named("gain", gain);
            t.expected = attn::rms_norm(x, gain, 1e-5f);
            t.actual = ex::rms_norm(x, gain, 1e-5f);
        },
        1e-4f);
}

namespace {
// Every weight of a block, one line each when small.
std::string block_text(const ex::Block& b) {
    const attn::MultiHeadWeights& a = b.attention;
    return named("ln1_gain", b.ln1_gain) + "\n" + named("ln1_bias", b.ln1_bias) + "\n" +
           named("attention.w_q", a.w_q) + "\n" + named("attention.b_q", a.b_q) + "\n" +
           named("attention.w_k", a.w_k) + "\n" + named("attention.b_k", a.b_k) + "\n" +
           named("attention.w_v", a.w_v) + "\n" + named("attention.b_v", a.b_v) + "\n" +
           named("attention.w_o", a.w_o) + "\n" + named("attention.b_o", a.b_o) + "\n" +
           named("ln2_gain", b.ln2_gain) + "\n" + named("ln2_bias", b.ln2_bias) + "\n" +
           named("w1", b.w1) + "\n" + named("b1", b.b1) + "\n" + named("w2", b.w2) + "\n" +
           named("b2", b.b2);
}
}  // namespace

TEST_CASE("5.4 pre_ln_block: every size from T = 1, one head of width 2", "[5.4]") {
    std::vector<Dims> sizes;  // d: heads of width 2
    for (std::size_t T = 1; T <= 3; ++T)
        for (std::size_t heads = 1; heads <= 2; ++heads) sizes.push_back({T, heads});
    check_every_size<2>(
        sizes,
        [](const Dims& s, Trial<2>& t) {
            const std::size_t d = 2 * s.d, d_ff = 2 * d;
            const Matrix x = readable_matrix(s.T, d, 7);
            ex::Block b;
            b.ln1_gain = readable_vector(d, 8);
            b.ln1_bias = readable_vector(d, 9);
            b.attention = {readable_matrix(d, d, 10),
                           readable_matrix(d, d, 11),
                           readable_matrix(d, d, 12),
                           readable_matrix(d, d, 13),
                           s.d,
                           s.d,
                           readable_vector(d, 14),
                           readable_vector(d, 15),
                           readable_vector(d, 16),
                           readable_vector(d, 17)};
            b.ln2_gain = readable_vector(d, 18);
            b.ln2_bias = readable_vector(d, 19);
            b.w1 = readable_matrix(d, d_ff, 20);
            b.b1 = readable_vector(d_ff, 21);
            b.w2 = readable_matrix(d_ff, d, 22);
            b.b2 = readable_vector(d, 23);
            t.input = "T = " + std::to_string(s.T) + ", d_model = " + std::to_string(d) + ", " +
                      std::to_string(s.d) + " head(s), d_ff = " + std::to_string(d_ff) + "\n" +
                      named("x", x) + "\n" + block_text(b);
            t.expected = attn::transformer_block(x, as_block_weights(b));
            t.actual = ex::pre_ln_block(x, b);
        },
        1e-3f);
}
