// Chapter 05's own code: PyTorch reference values (tests/reference/ch05.txt: F.layer_norm,
// F.gelu, a pre-LN block, a two-layer GPT's logits), GPT-2 small's parameter count,
// sampling and generation, rejected input.
#include "chapters/05_transformer_block/gpt.hpp"
#include "chapters/05_transformer_block/transformer_block.hpp"

#include "common/random.hpp"
#include "matchers.hpp"
#include "reference.hpp"

#include <xtensor/xbuilder.hpp>
#include <xtensor/xview.hpp>

#include <string>

using attn::Matrix;
using attn::Vector;
using attn::test::IsClose;
using attn::test::NamesShapeError;
using attn::test::Reference;

namespace {
const Reference& ref() {
    return Reference::load("ch05");
}

attn::BlockWeights reference_block(const std::string& prefix) {
    const auto m = [&](const std::string& name) { return ref().matrix(prefix + "." + name); };
    const auto v = [&](const std::string& name) { return ref().vector(prefix + "." + name); };
    attn::BlockWeights b;
    b.ln1_gain = v("ln1_gain");
    b.ln1_bias = v("ln1_bias");
    b.attention = {m("w_q"), m("w_k"), m("w_v"), m("w_o"), 2,
                   2,        v("b_q"), v("b_k"), v("b_v"), v("b_o")};
    b.ln2_gain = v("ln2_gain");
    b.ln2_bias = v("ln2_bias");
    b.ffn = {m("w1"), v("b1"), m("w2"), v("b2")};
    return b;
}
}  // namespace

TEST_CASE("layer_norm, gelu, gelu_exact and rms_norm match PyTorch") {
    CHECK_THAT(
        attn::layer_norm(ref().matrix("ln.x"), ref().vector("ln.gain"), ref().vector("ln.bias")),
        IsClose(ref().matrix("ln.out"), 1e-4f));
    CHECK_THAT(attn::gelu(ref().matrix("gelu.x")), IsClose(ref().matrix("gelu.tanh")));
    CHECK_THAT(attn::gelu_exact(ref().matrix("gelu.x")), IsClose(ref().matrix("gelu.exact")));
    CHECK_THAT(attn::rms_norm(ref().matrix("rms.x"), ref().vector("rms.gain")),
               IsClose(ref().matrix("rms.out")));
}

TEST_CASE("the pre-LN and post-LN blocks match PyTorch") {
    const attn::BlockWeights b = reference_block("block");
    CHECK_THAT(attn::transformer_block(ref().matrix("block.x"), b),
               IsClose(ref().matrix("block.out"), 1e-4f));
    CHECK_THAT(attn::post_ln_block(ref().matrix("block.x"), b),
               IsClose(ref().matrix("block.post_ln"), 1e-4f));
}

TEST_CASE("transformer_block with its attention given: the one body, and what it keeps") {
    const attn::BlockWeights b = reference_block("block");
    const Matrix x = ref().matrix("block.x");
    // Chapter 04's causal layer as the sub-layer: PyTorch's block, and each kept step
    // equal to the piece it is (each piece tested on its own against PyTorch).
    attn::BlockActivations kept;
    std::size_t calls = 0;
    const Matrix y = attn::transformer_block(
        x, b,
        [&](const Matrix& attention_input) {
            ++calls;
            return attn::multi_head_attention(attention_input, b.attention, true).output;
        },
        &kept);
    CHECK(calls == 1);
    CHECK_THAT(y, IsClose(ref().matrix("block.out"), 1e-4f));
    CHECK_THAT(kept.input, IsClose(x, 0.0f));
    CHECK_THAT(kept.attention_input, IsClose(attn::layer_norm(x, b.ln1_gain, b.ln1_bias), 1e-6f));
    const Matrix h = x + attn::multi_head_attention(kept.attention_input, b.attention, true).output;
    CHECK_THAT(kept.residual, IsClose(h, 1e-6f));
    CHECK_THAT(kept.ffn_input, IsClose(attn::layer_norm(h, b.ln2_gain, b.ln2_bias), 1e-5f));
    CHECK_THAT(kept.hidden, IsClose(attn::project(kept.ffn_input, b.ffn.w1, b.ffn.b1), 1e-5f));
    CHECK_THAT(kept.activated, IsClose(attn::gelu(kept.hidden), 1e-6f));
    CHECK_THAT(y, IsClose(Matrix(h + attn::feed_forward(kept.ffn_input, b.ffn)), 1e-5f));
    // Another sub-layer: one that adds nothing leaves x + FFN(LN2(x)).
    const Matrix none = attn::transformer_block(
        x, b, [](const Matrix& a) { return Matrix(xt::zeros<float>(a.shape())); });
    CHECK_THAT(
        none,
        IsClose(Matrix(x + attn::feed_forward(attn::layer_norm(x, b.ln2_gain, b.ln2_bias), b.ffn)),
                1e-5f));
}

TEST_CASE("a two-layer GPT with set weights gives PyTorch's logits") {
    const attn::GptConfig c{10, 8, 8, 2, 2, 2, 32, true};
    attn::GptWeights w;
    w.token_embedding = ref().matrix("gpt.token_embedding");
    w.position_embedding = ref().matrix("gpt.position_embedding");
    w.blocks = {reference_block("gpt.block0"), reference_block("gpt.block1")};
    w.ln_f_gain = ref().vector("gpt.ln_f_gain");
    w.ln_f_bias = ref().vector("gpt.ln_f_bias");
    const attn::Gpt model(c, w);
    const Vector ids = ref().vector("gpt.tokens");
    const std::vector<std::size_t> tokens(ids.begin(), ids.end());
    CHECK_THAT(model.logits(tokens), IsClose(ref().matrix("gpt.logits"), 1e-4f));
}

TEST_CASE("count_parameters reproduces GPT-2 small's 124,439,808") {
    CHECK(attn::total_parameters(attn::gpt2_small()) == 124439808u);
    attn::GptConfig c = attn::gpt2_small();
    c.bias = false;
    c.n_kv_heads = 4;  // GQA: W_k and W_v shrink to [768, 4 * 64]
    CHECK(attn::total_parameters(c) == 124439808u - 12u * 4 * 768 - 12u * 2 * 768 * (768 - 256));
}

TEST_CASE(
    "a GPT-2-initialised model has the counted number of parameters and generates in its "
    "vocabulary") {
    const attn::GptConfig c{12, 16, 16, 2, 4, 2, 64, true};
    attn::Rng rng(3);
    const attn::Gpt model(c, attn::gpt2_init(c, rng));
    std::size_t counted = model.weights().token_embedding.size() +
                          model.weights().position_embedding.size() +
                          model.weights().ln_f_gain.size() + model.weights().ln_f_bias.size();
    for (const attn::BlockWeights& b : model.weights().blocks)
        counted += b.ln1_gain.size() + b.ln1_bias.size() + b.ln2_gain.size() + b.ln2_bias.size() +
                   b.attention.w_q.size() + b.attention.w_k.size() + b.attention.w_v.size() +
                   b.attention.w_o.size() + b.attention.b_q.size() + b.attention.b_k.size() +
                   b.attention.b_v.size() + b.attention.b_o.size() + b.ffn.w1.size() +
                   b.ffn.b1.size() + b.ffn.w2.size() + b.ffn.b2.size();
    CHECK(counted == attn::total_parameters(c));
    const std::vector<std::size_t> out = attn::generate(model, {1, 2, 3}, 10, 1.0f, rng);
    REQUIRE(out.size() == 13);
    for (std::size_t t : out) CHECK(t < 12);
    // Greedy generation is deterministic and picks the argmax of the last row.
    const std::vector<std::size_t> greedy = attn::generate(model, {1, 2, 3}, 1, 0.0f, rng);
    const Matrix logits = model.logits({1, 2, 3});
    CHECK(greedy.back() == attn::greedy_token(xt::row(logits, 2)));
}

TEST_CASE("sample_token follows softmax(logits / temperature)") {
    attn::Rng rng(4);
    const Vector logits{0.0f, std::log(3.0f)};  // probabilities 1/4 and 3/4
    int ones = 0;
    for (int i = 0; i < 4000; ++i) ones += attn::sample_token(logits, 1.0f, rng) == 1;
    CHECK(ones > 2850);
    CHECK(ones < 3150);
    int sharp = 0;  // temperature 0.1: 3^10 to 1, nearly always token 1
    for (int i = 0; i < 1000; ++i) sharp += attn::sample_token(logits, 0.1f, rng) == 1;
    CHECK(sharp > 990);
}

TEST_CASE("chapter 05 functions reject bad input, naming function and numbers") {
    const Matrix x = Matrix::from_shape({3, 8});
    CHECK_THROWS_MATCHES(attn::layer_norm(x, xt::ones<float>({4}), xt::zeros<float>({8})),
                         std::invalid_argument, NamesShapeError("attn::layer_norm", "[4]"));
    CHECK_THROWS_MATCHES(attn::rms_norm(x, xt::ones<float>({4})), std::invalid_argument,
                         NamesShapeError("attn::rms_norm", "[4]"));
    attn::Rng rng(1);
    attn::BlockWeights b = attn::gpt2_block(8, 2, 2, 32, 1, rng);
    b.ffn.w2 = Matrix::from_shape({32, 6});
    CHECK_THROWS_MATCHES(attn::transformer_block(x, b), std::invalid_argument,
                         NamesShapeError("attn::transformer_block", "[32, 6]"));
    CHECK_THROWS_MATCHES(attn::feed_forward(x, b.ffn), std::invalid_argument,
                         NamesShapeError("attn::feed_forward", "[32, 6]"));
    CHECK_THROWS_MATCHES(
        attn::swiglu(x, attn::SwiGLUWeights{Matrix::from_shape({8, 4}), Matrix::from_shape({8, 5}),
                                            Matrix::from_shape({4, 8})}),
        std::invalid_argument, NamesShapeError("attn::swiglu", "[8, 5]"));
    CHECK_THROWS_MATCHES(attn::gpt2_block(8, 3, 3, 32, 1, rng), std::invalid_argument,
                         NamesShapeError("attn::gpt2_block", "n_heads = 3"));

    const attn::GptConfig c{10, 4, 8, 1, 2, 2, 16, true};
    const attn::Gpt model(c, attn::gpt2_init(c, rng));
    CHECK_THROWS_MATCHES(model.logits({1, 10}), std::invalid_argument,
                         NamesShapeError("attn::Gpt::logits", "10"));
    CHECK_THROWS_MATCHES(model.logits({1, 2, 3, 4, 5}), std::invalid_argument,
                         NamesShapeError("attn::Gpt::logits", "context of 4"));
    CHECK_THROWS_MATCHES(model.logits({}), std::invalid_argument,
                         NamesShapeError("attn::Gpt::logits", "tokens"));
    CHECK_THROWS_MATCHES(attn::generate(model, {1, 2}, 3, 0.0f, rng), std::invalid_argument,
                         NamesShapeError("attn::generate", "context of 4"));
    CHECK_THROWS_MATCHES(attn::sample_token(Vector{1, 2}, 0.0f, rng), std::invalid_argument,
                         NamesShapeError("attn::sample_token", "temperature"));
    attn::GptConfig bad = c;
    bad.n_heads = 3;
    CHECK_THROWS_MATCHES(attn::gpt2_init(bad, rng), std::invalid_argument,
                         NamesShapeError("attn::gpt2_init", "n_heads = 3"));
    attn::GptWeights w = attn::gpt2_init(c, rng);
    w.token_embedding = Matrix::from_shape({9, 8});
    CHECK_THROWS_MATCHES(attn::Gpt(c, w), std::invalid_argument,
                         NamesShapeError("attn::Gpt", "[9, 8]"));
    const attn::CharTokenizer chars("ab ");
    CHECK_THROWS_MATCHES(chars.encode("abc"), std::invalid_argument,
                         NamesShapeError("attn::CharTokenizer::encode", "'c'"));
    CHECK(chars.decode(chars.encode("ab ba")) == "ab ba");
}

TEST_CASE("Gpt checks every weight of every block before it runs, naming the block") {
    // A later block found bad only when it runs would leave the earlier layers of chapter
    // 06's cache one token ahead: block 1 is damaged here, one weight at a time.
    const attn::GptConfig c{10, 4, 8, 2, 2, 2, 16, true};
    attn::Rng rng(2);
    const attn::GptWeights good = attn::gpt2_init(c, rng);
    CHECK_NOTHROW(attn::Gpt(c, good));
    const auto refused = [&](auto damage, const std::string& message) {
        INFO(message);
        attn::GptWeights w = good;
        damage(w.blocks[1]);
        CHECK_THROWS_MATCHES(attn::Gpt(c, w), std::invalid_argument,
                             NamesShapeError("attn::Gpt", message));
    };
    // check_shape's words: argument 'name' must have shape [names] = [sizes], but has shape [..]
    refused(
        [](attn::BlockWeights& b) {
            b.attention.w_k = Matrix::from_shape({8, 6});
        },
        "'blocks[1].attention.w_k' must have shape [d_model, n_kv_heads * d_head] = [8, 8], "
        "but has shape [8, 6]");
    refused(
        [](attn::BlockWeights& b) {
            b.attention.w_o = Matrix::from_shape({8, 4});
        },
        "'blocks[1].attention.w_o' must have shape [d_model, d_model] = [8, 8], but has "
        "shape [8, 4]");
    refused([](attn::BlockWeights& b) { b.attention.b_v = Vector::from_shape({0}); },
            "'blocks[1].attention.b_v' must have shape [n_kv_heads * d_head] = [8], but has "
            "shape [0]");
    refused([](attn::BlockWeights& b) { b.ln2_bias = Vector::from_shape({7}); },
            "'blocks[1].ln2_bias' must have shape [d_model] = [8], but has shape [7]");
    refused([](attn::BlockWeights& b) { b.ffn.b1 = Vector::from_shape({15}); },
            "'blocks[1].ffn.b1' must have shape [d_ff] = [16], but has shape [15]");
    refused(
        [](attn::BlockWeights& b) {
            b.ffn.w2 = Matrix::from_shape({16, 7});
        },
        "'blocks[1].ffn.w2' must have shape [d_ff, d_model] = [16, 8], but has shape [16, 7]");
    refused([](attn::BlockWeights& b) { b.attention.n_heads = 1; },
            "blocks[1].attention has n_heads = 1");
}

TEST_CASE("rms_norm of a row whose mean square overflows float follows the definition") {
    // {1e20, -1e20, 1e20, -1e20}: root mean square 1e20 (its square, 1e40, is above float's
    // 3.4e38), so the normalised row is exactly {1, -1, 1, -1}, then times the gain.
    const Vector gain{1, 2, 3, 4};
    const Matrix x{{1e20f, -1e20f, 1e20f, -1e20f}, {3e38f, 3e38f, -3e38f, 3e38f}};
    CHECK_THAT(attn::rms_norm(x, gain), IsClose(Matrix{{1, -2, 3, -4}, {1, 2, -3, 4}}));
}

TEST_CASE("layer_norm of a row whose variance overflows float follows the definition") {
    // {1e20, -1e20, 1e20, -1e20}: mean 0, variance 1e40 (above float's 3.4e38), so the
    // normalised row is exactly {1, -1, 1, -1}, then times the gain plus the bias.
    const Vector gain{1, 2, 3, 4}, bias{0.5f, 0.5f, 0.5f, 0.5f};
    const Matrix x{{1e20f, -1e20f, 1e20f, -1e20f}, {-3e38f, 3e38f, -3e38f, 3e38f}};
    CHECK_THAT(attn::layer_norm(x, gain, bias),
               IsClose(Matrix{{1.5f, -1.5f, 3.5f, -3.5f}, {-0.5f, 2.5f, -2.5f, 4.5f}}));
    // A constant row has nothing to normalise: every feature is the bias, even near float's
    // largest number, where the sum of the row overflows.
    const Matrix constant{
        {7, 7, 7, 7}, {3e38f, 3e38f, 3e38f, 3e38f}, {-1e20f, -1e20f, -1e20f, -1e20f}};
    CHECK_THAT(attn::layer_norm(constant, gain, bias),
               IsClose(Matrix{
                   {0.5f, 0.5f, 0.5f, 0.5f}, {0.5f, 0.5f, 0.5f, 0.5f}, {0.5f, 0.5f, 0.5f, 0.5f}}));
    // Layer norm does not see the scale of a row (up to eps): 1e20 times a row gives the row's.
    const Matrix small{{0.5f, -1.0f, 2.0f, 0.25f}};
    CHECK_THAT(attn::layer_norm(Matrix(small * 1e20f), gain, bias),
               IsClose(attn::layer_norm(small, gain, bias, 0.0f), 1e-5f));
}

TEST_CASE("errors name the function the reader called, not one it calls") {
    const attn::GptConfig c{10, 4, 8, 1, 2, 2, 16, true};
    attn::Rng rng(5);
    const attn::Gpt model(c, attn::gpt2_init(c, rng));
    const attn::BlockWeights& w = model.weights().blocks[0];
    // An empty x is the reader's, found before layer_norm() or the attention sees it.
    CHECK_THROWS_MATCHES(attn::transformer_block(Matrix(xt::zeros<float>({0, 8})), w),
                         std::invalid_argument,
                         NamesShapeError("attn::transformer_block", "[0, 8]"));
    // h of the wrong width is h's fault, not the final norm's gain.
    CHECK_THROWS_MATCHES(model.output_logits(Matrix(xt::zeros<float>({2, 5}))),
                         std::invalid_argument,
                         NamesShapeError("attn::Gpt::output_logits", "[2, 5]"));
    // A prompt token outside the vocabulary, named as the prompt's.
    attn::Rng sample(1);
    CHECK_THROWS_MATCHES(attn::generate(model, {1, 10}, 2, 0.0f, sample), std::invalid_argument,
                         NamesShapeError("attn::generate", "prompt[1] = 10"));
}
