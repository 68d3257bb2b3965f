// Tests for the chapter 05 exercises; the tag ([5.1]) is the exercise's number.
//
// Expected values: the worked examples of exercises.hpp (by hand) and
// tests/reference/ch05.txt (PyTorch's F.layer_norm, F.gelu and a pre-LN block written out
// in torch, see generate.py), which also holds the answers of the known mistakes.
#include "exercises.hpp"

#include "matchers.hpp"
#include "reference.hpp"

#include <xtensor/xbuilder.hpp>
#include <xtensor/xview.hpp>

#include <string>

using attn::Matrix;
using attn::Vector;
using attn::test::IsClose;
using attn::test::Reference;
namespace ex = attn::ex05;

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
    INFO("layer_norm takes x by const reference: it must not change it");
    CHECK_THAT(x, IsClose(ref().matrix("ln.x"), 0));
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
    CHECK_THAT(
        ex::pre_ln_block(ref().matrix("block.x"), reference_block()),
        IsClose(ref().matrix("block.out"), 1e-4f)
            .or_mistake(ref().matrix("block.post_ln"),
                        "post-LN (the norm after the residual, as in 2017): GPT-2 normalises "
                        "before each sub-layer, x + MHA(LN1(x))")
            .or_mistake(ref().matrix("block.no_attention_residual"),
                        "the attention's residual is missing: h = x + MHA(LN1(x))")
            .or_mistake(ref().matrix("block.no_ffn_residual"),
                        "the feed-forward network's residual is missing: y = h + FFN(LN2(h))")
            .or_mistake(ref().matrix("block.exact_gelu"),
                        "the exact (erf) GELU in the feed-forward network: GPT-2 uses the tanh "
                        "form"));
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
