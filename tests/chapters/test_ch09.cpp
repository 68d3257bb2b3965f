// Chapter 09: every backward function against PyTorch's autograd (tests/reference/ch09.txt,
// float64 gradients rounded to float32 once), a central finite difference of the loss, and
// the properties a gradient must have.
#include "chapters/03_causal_masking/causal_masking.hpp"
#include "chapters/04_multi_head_attention/multi_head_attention.hpp"
#include "chapters/08_real_model/tokenizer.hpp"
#include "chapters/09_learning/adamw.hpp"
#include "chapters/09_learning/backward.hpp"
#include "chapters/09_learning/gpt_gradients.hpp"
#include "chapters/09_learning/language.hpp"
#include "chapters/09_learning/llama_parameters.hpp"
#include "chapters/09_learning/training.hpp"

#include "finite_difference.hpp"
#include "matchers.hpp"
#include "reference.hpp"

#include <xtensor/xview.hpp>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <functional>
#include <limits>
#include <set>
#include <string>
#include <tuple>
#include <vector>

using attn::Matrix;
using attn::Vector;
using attn::test::finite_difference;
using attn::test::IsClose;
using attn::test::loss_of;
using attn::test::Reference;
using Catch::Matchers::Contains;

namespace {

const Reference& ref() {
    return Reference::load("ch09");
}

std::vector<std::size_t> ids(const Vector& v) {
    return {v.begin(), v.end()};
}

attn::MultiHeadWeights reference_layer() {
    attn::MultiHeadWeights w;
    w.w_q = ref().matrix("mha.w_q");
    w.w_k = ref().matrix("mha.w_k");
    w.w_v = ref().matrix("mha.w_v");
    w.w_o = ref().matrix("mha.w_o");
    w.b_q = ref().vector("mha.b_q");
    w.b_k = ref().vector("mha.b_k");
    w.b_v = ref().vector("mha.b_v");
    w.b_o = ref().vector("mha.b_o");
    w.n_heads = 4;
    w.n_kv_heads = 2;
    return w;
}

}  // namespace

TEST_CASE("linear_backward equals PyTorch's gradients of x W + b") {
    const auto g = attn::linear_backward(ref().matrix("linear.x"), ref().matrix("linear.w"),
                                         ref().matrix("linear.dy"));
    CHECK_THAT(g.dx, IsClose(ref().matrix("linear.dx"), 1e-5f));
    CHECK_THAT(g.dw, IsClose(ref().matrix("linear.dw"), 1e-5f));
    CHECK_THAT(g.db, IsClose(ref().vector("linear.db"), 1e-5f));
}

TEST_CASE("softmax_backward equals PyTorch's, and each row of dS sums to zero") {
    const Matrix ds = attn::softmax_backward(ref().matrix("softmax.p"), ref().matrix("softmax.dp"));
    CHECK_THAT(ds, IsClose(ref().matrix("softmax.ds"), 1e-5f));
    // Adding one number to a whole row of scores changes no weight: dS is orthogonal to it.
    for (std::size_t i = 0; i < ds.shape(0); ++i)
        CHECK(std::abs(xt::sum(xt::row(ds, i))()) < 1e-5f);
}

TEST_CASE(
    "causal_attention_backward equals PyTorch's; the last key and value get only the last "
    "query's gradient") {
    const Matrix q = ref().matrix("attn.q"), k = ref().matrix("attn.k"), v = ref().matrix("attn.v");
    const Matrix dout = ref().matrix("attn.dout");
    CHECK_THAT(attn::masked_attention(q, k, v, attn::causal_mask(q.shape(0))).output,
               IsClose(ref().matrix("attn.out"), 1e-5f));
    const auto g = attn::causal_attention_backward(q, k, v, dout);
    CHECK_THAT(g.dq, IsClose(ref().matrix("attn.dq"), 1e-5f));
    CHECK_THAT(g.dk, IsClose(ref().matrix("attn.dk"), 1e-5f));
    CHECK_THAT(g.dv, IsClose(ref().matrix("attn.dv"), 1e-5f));
    // The mask in the gradient: the last position is seen by the last query alone, whose
    // weight on itself is P[T-1, T-1]; so dV's last row is that weight times dO's last row.
    const std::size_t last = q.shape(0) - 1;
    const Matrix p = attn::masked_attention(q, k, v, attn::causal_mask(q.shape(0))).weights;
    CHECK_THAT(Vector(xt::row(g.dv, last)),
               IsClose(Vector(p(last, last) * xt::row(dout, last)), 1e-6f));
    // The first query sees only the first key: its weight is 1 whatever its score, so dQ_0 = 0.
    CHECK_THAT(Vector(xt::row(g.dq, 0)), IsClose(Vector(xt::zeros<float>({q.shape(1)})), 1e-6f));
}

TEST_CASE(
    "multi_head_attention_backward equals PyTorch's for every tensor, grouped-query heads "
    "and biases included") {
    const attn::MultiHeadWeights w = reference_layer();
    const Matrix x = ref().matrix("mha.x");
    CHECK_THAT(attn::multi_head_attention(x, w, true).output,
               IsClose(ref().matrix("mha.y"), 1e-5f));
    const attn::MultiHeadForward forward = attn::multi_head_attention_forward(x, w);
    CHECK_THAT(forward.output, IsClose(ref().matrix("mha.y"), 1e-5f));
    const auto g = attn::multi_head_attention_backward(x, w, forward, ref().matrix("mha.dy"));
    CHECK_THAT(g.dx, IsClose(ref().matrix("mha.dx"), 1e-5f));
    CHECK_THAT(g.d_w.w_q, IsClose(ref().matrix("mha.dw_q"), 1e-5f));
    CHECK_THAT(g.d_w.w_k, IsClose(ref().matrix("mha.dw_k"), 1e-5f));
    CHECK_THAT(g.d_w.w_v, IsClose(ref().matrix("mha.dw_v"), 1e-5f));
    CHECK_THAT(g.d_w.w_o, IsClose(ref().matrix("mha.dw_o"), 1e-5f));
    CHECK_THAT(g.d_w.b_q, IsClose(ref().vector("mha.db_q"), 1e-5f));
    CHECK_THAT(g.d_w.b_v, IsClose(ref().vector("mha.db_v"), 1e-5f));
    CHECK_THAT(g.d_w.b_o, IsClose(ref().vector("mha.db_o"), 1e-5f));
    // A key bias adds the same number to every score of a query's row, which the softmax
    // ignores: its gradient is zero (PyTorch's is 3e-16).
    CHECK_THAT(g.d_w.b_k, IsClose(ref().vector("mha.db_k"), 1e-5f));
}

TEST_CASE("layer_norm_backward equals PyTorch's and a central difference of the loss") {
    const Matrix x = ref().matrix("ln.x"), dy = ref().matrix("ln.dy");
    const Vector gain = ref().vector("ln.gain"), bias = ref().vector("ln.bias");
    const auto g = attn::layer_norm_backward(x, gain, dy);
    CHECK_THAT(g.dx, IsClose(ref().matrix("ln.dx"), 1e-5f));
    CHECK_THAT(g.dgain, IsClose(ref().vector("ln.dgain"), 1e-5f));
    CHECK_THAT(g.dbias, IsClose(ref().vector("ln.dbias"), 1e-5f));
    const Matrix numeric = finite_difference(
        x, [&](const Matrix& at) { return loss_of(attn::layer_norm(at, gain, bias), dy); });
    CHECK_THAT(g.dx, IsClose(numeric, 2e-3f));
    // Shifting a row changes nothing after the norm: each row of dx sums to zero.
    for (std::size_t t = 0; t < x.shape(0); ++t)
        CHECK(std::abs(xt::sum(xt::row(g.dx, t))()) < 1e-5f);
}

TEST_CASE("gelu_backward equals PyTorch's tanh GELU gradient and a central difference") {
    const Matrix x = ref().matrix("gelu.x"), dy = ref().matrix("gelu.dy");
    const Matrix dx = attn::gelu_backward(x, dy);
    CHECK_THAT(dx, IsClose(ref().matrix("gelu.dx"), 1e-5f));
    CHECK_THAT(dx,
               IsClose(finite_difference(
                           x, [&](const Matrix& at) { return loss_of(attn::gelu(at), dy); }, 1e-3f),
                       1e-3f));
}

TEST_CASE("embedding_backward adds the rows of a token used twice") {
    const std::vector<std::size_t> tokens = ids(ref().vector("emb.tokens"));
    const Matrix de = attn::embedding_backward(tokens, ref().matrix("emb.dy"), 6);
    CHECK_THAT(de, IsClose(ref().matrix("emb.dtable"), 1e-6f));
    CHECK_THROWS_WITH(attn::embedding_backward({0, 6, 1, 2}, ref().matrix("emb.dy"), 6),
                      Contains("attn::embedding_backward") && Contains("6"));
}

TEST_CASE("cross_entropy equals PyTorch's loss and gradient, with the 1/N of the mean") {
    const Matrix z = ref().matrix("ce.logits");
    const std::vector<std::size_t> targets = ids(ref().vector("ce.targets"));
    const auto ce = attn::cross_entropy(z, targets);
    CHECK(std::abs(ce.loss - ref().vector("ce.loss")(0)) < 1e-5);
    CHECK_THAT(ce.dlogits, IsClose(ref().matrix("ce.dlogits"), 1e-6f));
    // Each row: softmax minus one-hot, so it sums to zero; divided by N = 5.
    for (std::size_t t = 0; t < z.shape(0); ++t)
        CHECK(std::abs(xt::sum(xt::row(ce.dlogits, t))()) < 1e-6f);
    // Logits of 1e4 do not overflow: the log-sum-exp subtracts the maximum first.
    const auto big = attn::cross_entropy(Matrix{{1e4f, 0.0f}, {0.0f, 1e4f}}, {0, 0});
    CHECK(std::abs(big.loss - 5e3) < 1e-6 * 5e3);
    CHECK(std::isfinite(big.dlogits(1, 1)));
}

TEST_CASE("the backward functions name themselves and the shapes for bad input") {
    const Matrix x = xt::ones<float>({3, 4});
    CHECK_THROWS_WITH(
        attn::linear_backward(x, Matrix(xt::ones<float>({4, 2})), Matrix(xt::ones<float>({3, 5}))),
        Contains("attn::linear_backward") && Contains("'dy'") && Contains("[3, 5]"));
    CHECK_THROWS_WITH(attn::softmax_backward(x, Matrix(xt::ones<float>({4, 3}))),
                      Contains("attn::softmax_backward") && Contains("'dp'"));
    CHECK_THROWS_WITH(attn::causal_attention_backward(x, Matrix(xt::ones<float>({2, 4})), x, x),
                      Contains("attn::causal_attention_backward") && Contains("'k'"));
    CHECK_THROWS_WITH(attn::layer_norm_backward(x, Vector(xt::ones<float>({3})), x),
                      Contains("attn::layer_norm_backward") && Contains("'gain'"));
    CHECK_THROWS_WITH(attn::gelu_backward(x, Matrix(xt::ones<float>({4, 3}))),
                      Contains("attn::gelu_backward") && Contains("'dy'"));
    CHECK_THROWS_WITH(attn::cross_entropy(x, {0, 1}),
                      Contains("attn::cross_entropy") && Contains("'logits'"));
    CHECK_THROWS_WITH(attn::cross_entropy(x, {0, 1, 4}),
                      Contains("attn::cross_entropy") && Contains("4"));
    attn::MultiHeadWeights w = reference_layer();
    const Matrix five = xt::ones<float>({5, 8});
    CHECK_THROWS_WITH(
        attn::multi_head_attention_backward(five, w, attn::multi_head_attention_forward(five, w),
                                            Matrix(xt::ones<float>({4, 8}))),
        Contains("attn::multi_head_attention_backward") && Contains("'dy'"));
}

namespace {

// The reference GPT of ch09.txt: vocabulary 11, context 8, d_model 8, 2 layers, 2 heads
// sharing 1 key/value head, d_ff 16, biases. `prefix` "gpt." gives the weights, "gpt.d." the
// gradients PyTorch computed, in the same shapes.
attn::GptWeights reference_gpt_tensors(const std::string& prefix) {
    const Reference& r = ref();
    attn::GptWeights w{r.matrix(prefix + "token_embedding"),
                       r.matrix(prefix + "position_embedding"),
                       {},
                       r.vector(prefix + "ln_f_gain"),
                       r.vector(prefix + "ln_f_bias")};
    for (int l = 0; l < 2; ++l) {
        const std::string b = prefix + "blocks" + std::to_string(l) + ".";
        w.blocks.push_back(
            {r.vector(b + "ln1_gain"),
             r.vector(b + "ln1_bias"),
             {r.matrix(b + "w_q"), r.matrix(b + "w_k"), r.matrix(b + "w_v"), r.matrix(b + "w_o"), 2,
              1, r.vector(b + "b_q"), r.vector(b + "b_k"), r.vector(b + "b_v"),
              r.vector(b + "b_o")},
             r.vector(b + "ln2_gain"),
             r.vector(b + "ln2_bias"),
             {r.matrix(b + "w1"), r.vector(b + "b1"), r.matrix(b + "w2"), r.vector(b + "b2")}});
    }
    return w;
}

const attn::Gpt& reference_gpt() {
    static const attn::Gpt model = [] {
        attn::GptConfig c;
        c.vocab_size = 11;
        c.context = 8;
        c.d_model = 8;
        c.n_layers = 2;
        c.n_heads = 2;
        c.n_kv_heads = 1;
        c.d_ff = 16;
        return attn::Gpt(c, reference_gpt_tensors("gpt."));
    }();
    return model;
}

std::vector<attn::Sequence> reference_batch() {
    return {{ids(ref().vector("gpt.inputs0")), ids(ref().vector("gpt.targets0"))},
            {ids(ref().vector("gpt.inputs1")), ids(ref().vector("gpt.targets1"))}};
}

}  // namespace

TEST_CASE("gpt_gradients: the loss and the gradient of every weight tensor equal PyTorch's") {
    const attn::Gpt& model = reference_gpt();
    CHECK_THAT(model.logits(ids(ref().vector("gpt.inputs0"))),
               IsClose(ref().matrix("gpt.logits0"), 1e-5f));
    const attn::GptGradients g = attn::gpt_gradients(model, reference_batch());
    CHECK(std::abs(g.loss - ref().vector("gpt.loss")(0)) < 1e-5);
    const attn::GptWeights expected = reference_gpt_tensors("gpt.d.");
    // The embedding's gradient holds both of its uses: input rows and the tied classifier.
    CHECK_THAT(g.d.token_embedding, IsClose(expected.token_embedding, 1e-5f));
    CHECK_THAT(g.d.position_embedding, IsClose(expected.position_embedding, 1e-5f));
    CHECK_THAT(g.d.ln_f_gain, IsClose(expected.ln_f_gain, 1e-5f));
    CHECK_THAT(g.d.ln_f_bias, IsClose(expected.ln_f_bias, 1e-5f));
    for (std::size_t l = 0; l < 2; ++l) {
        INFO("block " << l);
        const attn::BlockWeights &got = g.d.blocks[l], &want = expected.blocks[l];
        CHECK_THAT(got.ln1_gain, IsClose(want.ln1_gain, 1e-5f));
        CHECK_THAT(got.ln1_bias, IsClose(want.ln1_bias, 1e-5f));
        CHECK_THAT(got.attention.w_q, IsClose(want.attention.w_q, 1e-5f));
        CHECK_THAT(got.attention.w_k, IsClose(want.attention.w_k, 1e-5f));
        CHECK_THAT(got.attention.w_v, IsClose(want.attention.w_v, 1e-5f));
        CHECK_THAT(got.attention.w_o, IsClose(want.attention.w_o, 1e-5f));
        CHECK_THAT(got.attention.b_q, IsClose(want.attention.b_q, 1e-5f));
        CHECK_THAT(got.attention.b_k, IsClose(want.attention.b_k, 1e-5f));
        CHECK_THAT(got.attention.b_v, IsClose(want.attention.b_v, 1e-5f));
        CHECK_THAT(got.attention.b_o, IsClose(want.attention.b_o, 1e-5f));
        CHECK_THAT(got.ln2_gain, IsClose(want.ln2_gain, 1e-5f));
        CHECK_THAT(got.ln2_bias, IsClose(want.ln2_bias, 1e-5f));
        CHECK_THAT(got.ffn.w1, IsClose(want.ffn.w1, 1e-5f));
        CHECK_THAT(got.ffn.b1, IsClose(want.ffn.b1, 1e-5f));
        CHECK_THAT(got.ffn.w2, IsClose(want.ffn.w2, 1e-5f));
        CHECK_THAT(got.ffn.b2, IsClose(want.ffn.b2, 1e-5f));
    }
    // Positions 6 and 7 of the context were never used: no gradient reaches them.
    CHECK(xt::amax(xt::abs(xt::view(g.d.position_embedding, xt::range(6, 8), xt::all())))() ==
          0.0f);
}

TEST_CASE("gpt_gradients refuses a batch it cannot compute, naming what is wrong") {
    const attn::Gpt& model = reference_gpt();
    CHECK_THROWS_WITH(attn::gpt_gradients(model, {}),
                      Contains("attn::gpt_gradients") && Contains("no sequence"));
    CHECK_THROWS_WITH(attn::gpt_gradients(model, {{{1, 2, 3}, {2, 3}}}),
                      Contains("3 inputs but 2 targets"));
    CHECK_THROWS_WITH(attn::gpt_gradients(model, {{{1, 2}, {2, 11}}}),
                      Contains("attn::gpt_gradients") && Contains("11"));
    const std::vector<std::size_t> nine(9, 1);
    CHECK_THROWS_WITH(attn::gpt_gradients(model, {{nine, nine}}),
                      Contains("attn::gpt_gradients") && Contains("context"));
}

TEST_CASE("gpt_gradients of weights held without a Gpt: the same numbers, the weights checked") {
    const attn::Gpt& model = reference_gpt();
    const attn::GptGradients of_model = attn::gpt_gradients(model, reference_batch());
    attn::GptWeights w = model.weights();
    const attn::GptGradients of_weights = attn::gpt_gradients(model.config(), w, reference_batch());
    CHECK(of_weights.loss == of_model.loss);
    CHECK_THAT(of_weights.d.blocks[1].attention.w_k,
               IsClose(of_model.d.blocks[1].attention.w_k, 0.0f));
    CHECK_THAT(of_weights.d.token_embedding, IsClose(of_model.d.token_embedding, 0.0f));
    w.blocks[1].ffn.b1 = xt::zeros<float>({3});
    CHECK_THROWS_WITH(attn::gpt_gradients(model.config(), w, reference_batch(), "caller_name"),
                      Contains("caller_name") && Contains("blocks[1].ffn.b1") && Contains("[3]"));
    attn::AdamW optimiser(model.weights());
    CHECK_THROWS_WITH(attn::training_step(model.config(), w, optimiser, reference_batch(), 1e-3f),
                      Contains("attn::training_step") && Contains("blocks[1].ffn.b1"));
    CHECK(optimiser.steps() == 0);
}

namespace {

// Every tensor of two models, compared in parameters() order, names included.
void check_all_close(attn::GptWeights got, attn::GptWeights want, float tolerance) {
    const auto a = attn::parameters(got), b = attn::parameters(want);
    REQUIRE(a.size() == b.size());
    for (std::size_t i = 0; i < a.size(); ++i) {
        INFO(a[i].name);
        REQUIRE(a[i].name == b[i].name);
        REQUIRE(a[i].size == b[i].size);
        float worst = 0.0f;
        for (std::size_t j = 0; j < a[i].size; ++j)
            worst = std::max(worst, std::abs(a[i].data[j] - b[i].data[j]));
        CHECK(worst <= tolerance);
    }
}

}  // namespace

TEST_CASE("three AdamW steps equal PyTorch's torch.optim.AdamW, decay on the matrices only") {
    attn::GptWeights w = reference_gpt_tensors("gpt.");
    attn::GptWeights g = reference_gpt_tensors("gpt.d.");
    attn::AdamW adam(w, {0.9f, 0.99f, 1e-8f, 0.1f});
    for (int i = 0; i < 3; ++i) adam.step(w, g, 1e-2f);
    CHECK(adam.steps() == 3);
    check_all_close(w, reference_gpt_tensors("adamw3."), 2e-6f);
}

TEST_CASE(
    "AdamW's first step moves each number by the learning rate (bias correction), and "
    "decay shrinks the matrices alone") {
    const attn::GptWeights start = reference_gpt_tensors("gpt.");
    attn::GptWeights w = start, g = reference_gpt_tensors("gpt.d.");
    attn::AdamW adam(w, {0.9f, 0.99f, 1e-8f, 0.0f});
    adam.step(w, g, 1e-3f);
    // m_hat / sqrt(v_hat) = g / |g| on the first step: every number moves by lr, against g.
    attn::GptWeights before = start;
    const auto p = attn::parameters(w), q = attn::parameters(before), d = attn::parameters(g);
    for (std::size_t i = 0; i < p.size(); ++i)
        for (std::size_t j = 0; j < p[i].size; ++j)
            if (std::abs(d[i].data[j]) > 1e-6f)
                CHECK(std::abs(q[i].data[j] - p[i].data[j] - 1e-3f * (d[i].data[j] > 0 ? 1 : -1)) <
                      1e-5f);
    // With a gradient of zero, only weight decay moves anything.
    attn::GptWeights decayed = start, zero = start;
    for (const attn::ParameterView& z : attn::parameters(zero))
        std::fill(z.data, z.data + z.size, 0.0f);
    attn::AdamW with_decay(decayed, {0.9f, 0.99f, 1e-8f, 0.5f});
    with_decay.step(decayed, zero, 0.1f);
    CHECK_THAT(decayed.blocks[1].attention.w_k,
               IsClose(Matrix(start.blocks[1].attention.w_k * 0.95f), 1e-6f));
    CHECK_THAT(decayed.blocks[0].ffn.w2, IsClose(Matrix(start.blocks[0].ffn.w2 * 0.95f), 1e-6f));
    CHECK_THAT(decayed.blocks[0].ln1_gain, IsClose(start.blocks[0].ln1_gain, 0.0f));
    CHECK_THAT(decayed.blocks[0].attention.b_q, IsClose(start.blocks[0].attention.b_q, 0.0f));
    CHECK_THAT(decayed.token_embedding, IsClose(start.token_embedding, 0.0f));
}

TEST_CASE("AdamW refuses a learning rate that is not above 0 and gradients of another model") {
    attn::GptWeights w = reference_gpt_tensors("gpt."), g = reference_gpt_tensors("gpt.d.");
    attn::AdamW adam(w);
    CHECK_THROWS_WITH(adam.step(w, g, 0.0f), Contains("attn::AdamW::step") && Contains("above 0"));
    CHECK_THROWS_WITH(adam.step(w, g, std::nanf("")), Contains("learning rate"));
    g.blocks[1].ffn.w1 = xt::zeros<float>({3, 3});
    CHECK_THROWS_WITH(adam.step(w, g, 1e-3f), Contains("'blocks[1].ffn.w1'"));
    CHECK(adam.steps() == 0);
}

TEST_CASE("clip_gradients scales to the global norm as torch.nn.utils.clip_grad_norm_ does") {
    attn::GptWeights g = reference_gpt_tensors("gpt.d.");
    const double norm = ref().vector("clip.norm")(0);
    CHECK(std::abs(attn::clip_gradients(g, norm / 2) - norm) < 1e-5 * norm);
    check_all_close(g, reference_gpt_tensors("clip.g."), 1e-6f);
    // Below the limit nothing changes.
    attn::GptWeights same = reference_gpt_tensors("gpt.d.");
    attn::clip_gradients(same, norm * 2);
    check_all_close(same, reference_gpt_tensors("gpt.d."), 0.0f);
}

TEST_CASE("the learning rate warms up linearly, then follows a cosine down to its floor") {
    CHECK(attn::learning_rate_at(0, 1e-3f, 10, 100) == Approx(1e-4f));
    CHECK(attn::learning_rate_at(9, 1e-3f, 10, 100) == Approx(1e-3f));
    CHECK(attn::learning_rate_at(10, 1e-3f, 10, 100) == Approx(1e-3f));
    CHECK(attn::learning_rate_at(55, 1e-3f, 10, 100) == Approx(0.55e-3f));  // half-way: the mean
    CHECK(attn::learning_rate_at(100, 1e-3f, 10, 100) == Approx(1e-4f));
    CHECK(attn::learning_rate_at(500, 1e-3f, 10, 100) == Approx(1e-4f));
    for (std::size_t s = 10; s < 100; ++s)
        CHECK(attn::learning_rate_at(s + 1, 1e-3f, 10, 100) <=
              attn::learning_rate_at(s, 1e-3f, 10, 100));
    CHECK_THROWS_WITH(attn::learning_rate_at(0, 1e-3f, 200, 100), Contains("warmup"));
    CHECK_THROWS_WITH(attn::learning_rate_at(0, 0.0f, 0, 100), Contains("above 0"));
}

TEST_CASE("the language: every sentence's verb agrees with its subject, attractors marked") {
    const attn::Language lang;
    // 10 subjects x (1 + 4 verbs x 10 nouns + 3 prepositions x 10 nouns) x 4 adjectives.
    CHECK(lang.sentences().size() == 2840);
    std::size_t attractors = 0;
    for (const attn::Sentence& s : lang.sentences()) {
        const std::string verb = lang.words()[s.tokens[s.verb_position]];
        CHECK(verb == (s.plural_subject ? "were" : "was"));
        CHECK(lang.words()[s.tokens.back()] == ".");
        CHECK(lang.accepts(s.tokens));
        attractors += s.attractor;
    }
    CHECK(attractors == 10 * 35 * 4);  // half of the 70 middles hold a noun of the other number
    const attn::Sentence& first_clause = lang.sentences()[4 * 1];  // after the 4 of "the dog was"
    // From the subject on: the front before it is drawn.
    const std::vector<std::size_t> from_subject(
        first_clause.tokens.begin() + static_cast<std::ptrdiff_t>(first_clause.subject_position),
        first_clause.tokens.end());
    CHECK(lang.text(from_subject) == "dog that chased the dog was tired .");
    // A verb that does not agree, a missing word, a sentence twice: not the grammar's.
    CHECK_FALSE(lang.accepts(
        {lang.id("the"), lang.id("dog"), lang.id("were"), lang.id("tired"), lang.id(".")}));
    CHECK_FALSE(lang.accepts({lang.id("the"), lang.id("dog"), lang.id("was"), lang.id(".")}));
    CHECK_THROWS_WITH(lang.id("unicorn"), Contains("'unicorn'"));
}

TEST_CASE("the held-out sentences are never trained on and hold every kind of sentence") {
    const attn::Language lang;
    attn::Rng rng(4);
    const attn::LanguageSplit split = attn::split_sentences(lang, 0.2, rng);
    CHECK(split.train.size() + split.held_out.size() == lang.sentences().size());
    std::set<std::vector<std::size_t>> trained;
    for (const attn::Sentence& s : split.train) trained.insert(s.tokens);
    std::set<std::tuple<bool, bool, std::size_t>> kinds;
    for (const attn::Sentence& s : split.held_out) {
        CHECK(trained.count(s.tokens) == 0);
        kinds.insert({s.plural_subject, s.attractor, s.verb_position - s.subject_position});
    }
    // Singular and plural subjects; no middle (no attractor), a phrase or a clause, each
    // with and without an attractor: 2 x (1 + 2 + 2).
    CHECK(kinds.size() == 10);
    const std::vector<std::size_t> stream = attn::token_stream(split.train, 1000, rng);
    CHECK(stream.size() == 1000);
    CHECK_THROWS_WITH(attn::split_sentences(lang, 1.0, rng), Contains("held_out_share"));
    CHECK_THROWS_WITH(attn::token_stream({}, 10, rng), Contains("no sentences"));
}

TEST_CASE("gpt_forward: the logits of chapter 05's Gpt::logits, and the activations it keeps") {
    const attn::Gpt& model = reference_gpt();
    const std::vector<std::size_t> tokens = {1, 4, 2, 9, 3};
    const attn::GptActivations f = attn::gpt_forward(model, tokens);
    CHECK_THAT(f.logits, IsClose(model.logits(tokens), 1e-6f));
    REQUIRE(f.blocks.size() == 2);
    CHECK(f.blocks[1].attention.sequences[0].weights.shape(0) == 2);
    CHECK(f.blocks[1].hidden.shape(1) == 16);
    CHECK_THROWS_WITH(attn::gpt_forward(model, {1, 12}, "caller_name"),
                      Contains("caller_name") && Contains("12"));
}

TEST_CASE(
    "'.' is llama2.c's start of a text, so a saved model starts and stops where sentences do") {
    const attn::Language lang;
    CHECK(lang.id(".") == attn::Tokenizer::bos);
}

TEST_CASE("sentence_sequence: '.' then the sentence, the row of the verb's position predicts it") {
    const attn::Language lang;
    const attn::Sentence& s = lang.sentences()[205];
    const attn::Sequence q = attn::sentence_sequence(lang, s);
    REQUIRE(q.inputs.size() == s.tokens.size());
    CHECK(q.inputs[0] == lang.id("."));
    CHECK(q.targets == s.tokens);
    CHECK(q.targets[s.verb_position] == lang.id(s.plural_subject ? "were" : "was"));
    CHECK(q.inputs[s.verb_position] == s.tokens[s.verb_position - 1]);
}

TEST_CASE(
    "training_step lowers the loss; stops on a non-finite gradient naming the step and the "
    "tensor") {
    const attn::Language lang;
    attn::Rng rng(3);
    const attn::GptConfig c{lang.words().size(), 16, 16, 1, 2, 2, 32, true};
    attn::GptWeights w = attn::gpt2_init(c, rng);
    attn::AdamW opt(w);
    std::vector<attn::Sequence> batch;
    for (std::size_t i = 0; i < 8; ++i)
        batch.push_back(attn::sentence_sequence(lang, lang.sentences()[i * 300]));
    const double first = attn::training_step(c, w, opt, batch, 3e-3f).loss;
    for (int i = 0; i < 30; ++i) attn::training_step(c, w, opt, batch, 3e-3f);
    CHECK(attn::training_step(c, w, opt, batch, 3e-3f).loss < first - 0.5);
    CHECK(opt.steps() == 32);

    const attn::GptWeights before = w;
    w.blocks[0].ffn.w1(0, 0) = std::numeric_limits<float>::infinity();
    CHECK_THROWS_WITH(attn::training_step(c, w, opt, batch, 3e-3f),
                      Contains("step 33") && (Contains("not finite") || Contains("loss is")));
    w = before;
    w.blocks[0].ln2_gain(0) = std::numeric_limits<float>::quiet_NaN();
    CHECK_THROWS_WITH(attn::training_step(c, w, opt, batch, 3e-3f), Contains("step 33"));
    CHECK(opt.steps() == 32);  // nothing stepped
    w = before;
    CHECK_THROWS_WITH(attn::training_step(c, w, opt, batch, 0.0f), Contains("learning"));
}

TEST_CASE("evaluate: a model that always says 'was' gets half of the balanced sentences") {
    const attn::Language lang;
    // Logits where "was" wins everywhere, whatever the inputs.
    const attn::LogitsOf always_was = [&](const std::vector<std::size_t>& inputs) {
        Matrix z = xt::zeros<float>({inputs.size(), lang.words().size()});
        xt::view(z, xt::all(), lang.id("was")) = 1000.0f;
        return z;
    };
    const attn::Agreement a = attn::evaluate(always_was, lang, lang.sentences());
    CHECK(a.sentences == lang.sentences().size());
    CHECK(a.correct * 2 == a.sentences);
    CHECK(a.attractors_correct * 2 == a.attractors);
    CHECK(a.loss > 0.0);
}

TEST_CASE("gpt_forward of a packed batch: each sequence's logits and weights as if it were alone") {
    const attn::Gpt& model = reference_gpt();
    const std::vector<std::vector<std::size_t>> sequences = {{1, 4, 2}, {9, 3, 3, 0, 7, 10}, {5}};
    const attn::GptActivations f = attn::gpt_forward_batch(model, sequences);
    REQUIRE(f.starts == std::vector<std::size_t>{0, 3, 9, 10});
    REQUIRE(f.logits.shape(0) == 10);
    for (std::size_t s = 0; s < sequences.size(); ++s) {
        INFO("sequence " << s);
        const Matrix rows = xt::view(f.logits, xt::range(f.starts[s], f.starts[s + 1]), xt::all());
        CHECK_THAT(rows, IsClose(model.logits(sequences[s]), 1e-5f));
        const attn::GptActivations alone = attn::gpt_forward(model, sequences[s]);
        for (std::size_t l = 0; l < 2; ++l) {
            CHECK_THAT(attn::Tensor3(f.blocks[l].attention.sequences[s].weights),
                       IsClose(alone.blocks[l].attention.sequences[0].weights, 1e-6f));
        }
    }
    CHECK_THROWS_WITH(attn::gpt_forward_batch(model, {{1, 2}, {}}, "caller_name"),
                      Contains("caller_name") && Contains("no token"));
}

TEST_CASE("multi_head_attention_forward refuses starts that do not cut x's rows into sequences") {
    attn::Rng rng(3);
    const attn::MultiHeadWeights w = attn::random_multi_head_weights(8, 2, 1, rng);
    const Matrix x = xt::ones<float>({5, 8});
    for (const std::vector<std::size_t>& starts :
         {std::vector<std::size_t>{0, 5, 5}, {1, 5}, {0, 3}, {0, 3, 2, 5}, {5}}) {
        CHECK_THROWS_WITH(attn::multi_head_attention_forward(x, w, starts),
                          Contains("attn::multi_head_attention_forward") && Contains("starts") &&
                              Contains("5 rows"));
    }
    CHECK(attn::multi_head_attention_forward(x, w, {0, 2, 5}).sequences.size() == 2);
}

TEST_CASE("train_agreement_model is seeded, and evaluate takes logits from anywhere") {
    using Catch::Matchers::Contains;
    const attn::Language language;
    attn::Rng rng(20);
    const attn::LanguageSplit split = attn::split_sentences(language, 0.2, rng);
    std::size_t calls = 0;
    const attn::Gpt a = attn::train_agreement_model(
        language, split.train, 3,
        [&](std::size_t step, const attn::StepReport& r, const attn::GptWeights&) {
            CHECK(step == calls);
            CHECK(std::isfinite(r.loss));
            ++calls;
        });
    CHECK(calls == 3);
    const attn::Gpt b = attn::train_agreement_model(language, split.train, 3);
    CHECK(a.weights().token_embedding == b.weights().token_embedding);  // the same seeded run
    CHECK(a.config().context == 16);
    const std::vector<attn::Sentence> some(split.held_out.begin(), split.held_out.begin() + 20);
    const attn::Agreement through = attn::evaluate(
        [&](const std::vector<std::size_t>& inputs) { return a.logits(inputs); }, language, some);
    CHECK(through.sentences == some.size());
    CHECK(std::isfinite(through.loss));
    CHECK_THROWS_WITH(attn::evaluate([](const std::vector<std::size_t>&) { return attn::Matrix(); },
                                     language, some),
                      Contains("attn::evaluate") && Contains("logits"));
    CHECK_THROWS_WITH(attn::train_agreement_model(language, split.train, 0), Contains("steps"));
    CHECK_THROWS_WITH(attn::train_agreement_model(language, {}, 2), Contains("no sentence"));
}

TEST_CASE("bad input is refused by the function the reader called, before anything changes") {
    using attn::test::NamesShapeError;
    const attn::Gpt& model = reference_gpt();
    CHECK_THROWS_MATCHES(attn::gpt_forward_batch(model, {}), std::invalid_argument,
                         NamesShapeError("attn::gpt_forward_batch", "sequences.size() = 0"));
    CHECK_THROWS_MATCHES(attn::gpt_forward_batch(model, {{1, 2}, {}}), std::invalid_argument,
                         NamesShapeError("attn::gpt_forward_batch", "sequences[1]"));

    // training_step checks its settings and its batch itself, before any gradient.
    const attn::Language lang;
    attn::Rng rng(3);
    const attn::GptConfig c{lang.words().size(), 12, 16, 1, 2, 2, 32, true};
    attn::GptWeights w = attn::gpt2_init(c, rng);
    const attn::GptWeights before = w;
    attn::AdamW opt(w);
    const std::vector<attn::Sequence> batch = {attn::sentence_sequence(lang, lang.sentences()[0])};
    CHECK_THROWS_MATCHES(attn::training_step(c, w, opt, batch, 0.0f), std::invalid_argument,
                         NamesShapeError("attn::training_step", "learning_rate = 0"));
    CHECK_THROWS_MATCHES(attn::training_step(c, w, opt, batch, 1e-3f, 0.0), std::invalid_argument,
                         NamesShapeError("attn::training_step", "max_norm = 0"));
    CHECK_THROWS_MATCHES(attn::training_step(c, w, opt, {}, 1e-3f), std::invalid_argument,
                         NamesShapeError("attn::training_step", "no sequence"));
    CHECK_THROWS_MATCHES(attn::training_step(c, w, opt, {{{1, 2}, {2, 99}}}, 1e-3f),
                         std::invalid_argument, NamesShapeError("attn::training_step", "99"));
    CHECK(opt.steps() == 0);
    CHECK_THAT(w.blocks[0].ffn.w1, IsClose(before.blocks[0].ffn.w1, 0.0f));

    // Every sentence is checked before the first is scored or trained on.
    attn::LlamaConfig lc = attn::agreement_llama_config(lang.words().size());
    const attn::LlamaParameters small = attn::llama_init(lc, rng);
    std::vector<attn::Sentence> sentences = {lang.sentences()[0], {}};
    CHECK_THROWS_MATCHES(attn::evaluate(small, lang, sentences), std::invalid_argument,
                         NamesShapeError("attn::evaluate", "sentences[1]"));
    CHECK_THROWS_MATCHES(attn::train_agreement_model(lang, sentences, 1), std::invalid_argument,
                         NamesShapeError("attn::train_agreement_model", "train[1]"));
    sentences[1] = lang.sentences()[1];
    sentences[1].verb_position = 40;
    CHECK_THROWS_MATCHES(attn::evaluate(small, lang, sentences), std::invalid_argument,
                         NamesShapeError("attn::evaluate", "sentences[1].verb_position = 40"));
    sentences[1] = lang.sentences()[1];
    sentences[1].tokens[0] = 99;
    CHECK_THROWS_MATCHES(attn::evaluate(small, lang, sentences), std::invalid_argument,
                         NamesShapeError("attn::evaluate", "99"));
}

TEST_CASE("the language moves the subject: many positions, the unseen ones never trained on") {
    const attn::Language lang, again;
    const std::size_t context = attn::agreement_config(lang.words().size()).context;
    std::set<std::size_t> positions;
    for (std::size_t i = 0; i < lang.sentences().size(); ++i) {
        const attn::Sentence& s = lang.sentences()[i];
        INFO(lang.text(s.tokens));
        REQUIRE(s.subject_position < s.verb_position);
        positions.insert(s.subject_position);
        // The subject is the first noun, of the sentence's number; the front has no noun.
        CHECK(lang.plural_noun(s.tokens[s.subject_position]) == s.plural_subject);
        for (std::size_t t = 0; t < s.subject_position; ++t)
            CHECK_FALSE(lang.plural_noun(s.tokens[t]).has_value());
        CHECK(lang.accepts(s.tokens));
        // With the "." before it, the inputs fit; the fronts' draw is seeded.
        CHECK(s.tokens.size() <= context);
        CHECK(s.tokens == again.sentences()[i].tokens);
    }
    CHECK(positions == std::set<std::size_t>{1, 2, 3, 4, 5, 6, 7});  // the 2nd to the 8th word
    CHECK(lang.grammar_size() == 9 * lang.sentences().size());       // 3 preambles x 3

    attn::Rng rng(4);
    const attn::LanguageSplit split = attn::split_sentences(lang, 0.2, rng);
    std::set<std::size_t> trained, held;
    for (const attn::Sentence& s : split.train) {
        CHECK_FALSE(attn::subject_position_unseen(s));
        CHECK(lang.accepts(s.tokens));
        trained.insert(s.subject_position);
    }
    for (const attn::Sentence& s : split.held_out) held.insert(s.subject_position);
    CHECK(trained == std::set<std::size_t>{1, 2, 3, 5, 7});
    for (const std::size_t p : attn::unseen_subject_positions) CHECK(held.count(p) == 1);
    const auto unseen = [](const attn::Sentence& s) { return attn::subject_position_unseen(s); };
    CHECK(std::count_if(split.held_out.begin(), split.held_out.end(), unseen) ==
          std::count_if(lang.sentences().begin(), lang.sentences().end(), unseen));

    // Any front with any core sentence is the grammar's, not only the fronts drawn; a front
    // out of order or without its comma is not, nor a verb that agrees with the attractor.
    const auto words = [&](std::initializer_list<const char*> list) {
        std::vector<std::size_t> tokens;
        for (const char* w : list) tokens.push_back(lang.id(w));
        return tokens;
    };
    CHECK(lang.accepts(words({"in", "the", "morning", ",", "the", "big", "old", "dogs", "near",
                              "the", "cat", "were", "tired", "."})));
    CHECK(lang.accepts(words({"yesterday", ",", "the", "old", "dog", "that", "chased", "the",
                              "cats", "was", "tired", "."})));
    CHECK_FALSE(lang.accepts(words({"the", "old", "big", "dog", "was", "tired", "."})));
    CHECK_FALSE(lang.accepts(words({"yesterday", "the", "dog", "was", "tired", "."})));
    CHECK_FALSE(lang.accepts(words({"yesterday", ",", "the", "old", "dog", "that", "chased", "the",
                                    "cats", "were", "tired", "."})));
}

TEST_CASE("head_focus: a head on the subject scores 1, a fixed-position head the subjects there") {
    const attn::Language lang;
    std::vector<attn::Sentence> sentences;
    for (const attn::Sentence& s : lang.sentences())
        if (s.attractor) sentences.push_back(s);
    // Constructed rows of the row that predicts the verb, keys 0 .. verb_position; in them
    // the subject is key subject_position + 1 and the attractor the last key.
    const auto rows_of = [&](const std::function<void(const attn::Sentence&, Vector&)>& fill) {
        std::vector<Vector> rows;
        for (const attn::Sentence& s : sentences) {
            Vector row = xt::zeros<float>({s.verb_position + 1});
            fill(s, row);
            rows.push_back(row);
        }
        return rows;
    };
    std::vector<std::size_t> subjects, attractors, first;
    for (const attn::Sentence& s : sentences) {
        subjects.push_back(s.subject_position + 1);
        attractors.push_back(s.verb_position);
        first.push_back(0);
    }

    attn::HeadFocus f = attn::head_focus(
        rows_of([](const attn::Sentence& s, Vector& r) { r(s.subject_position + 1) = 1.0f; }),
        subjects);
    CHECK(f.rows == sentences.size());
    CHECK(f.largest_share == 1.0);
    CHECK(f.mean_weight == Approx(1.0));
    // Less than half its weight on the subject, but more than on any other key.
    f = attn::head_focus(rows_of([](const attn::Sentence& s, Vector& r) {
                             r.fill(0.6f / static_cast<float>(r.size() - 1));
                             r(s.subject_position + 1) = 0.4f;
                         }),
                         subjects);
    CHECK(f.largest_share == 1.0);
    CHECK(f.mean_weight == Approx(0.4));

    // A head that always looks at key 3 scores the share of subjects that stand there.
    const double at_3 = static_cast<double>(std::count(subjects.begin(), subjects.end(), 3)) /
                        static_cast<double>(subjects.size());
    REQUIRE(at_3 > 0.0);
    REQUIRE(at_3 < 0.5);
    f = attn::head_focus(rows_of([](const attn::Sentence&, Vector& r) { r(3) = 1.0f; }), subjects);
    CHECK(f.largest_share == Approx(at_3));
    CHECK(f.mean_weight == Approx(at_3));

    // A head on the row's own word finds the attractor, never the subject; a uniform row's
    // largest weight is its first key (the first of a tie).
    const std::vector<Vector> own =
        rows_of([](const attn::Sentence& s, Vector& r) { r(s.verb_position) = 1.0f; });
    CHECK(attn::head_focus(own, subjects).largest_share == 0.0);
    CHECK(attn::head_focus(own, attractors).largest_share == 1.0);
    const std::vector<Vector> uniform = rows_of(
        [](const attn::Sentence&, Vector& r) { r.fill(1.0f / static_cast<float>(r.size())); });
    CHECK(attn::head_focus(uniform, subjects).largest_share == 0.0);
    CHECK(attn::head_focus(uniform, first).largest_share == 1.0);

    // Bad input, named.
    CHECK_THROWS_WITH(attn::head_focus({}, {}),
                      Contains("attn::head_focus") && Contains("no rows"));
    CHECK_THROWS_WITH(attn::head_focus(own, {1, 2}),
                      Contains("attn::head_focus") && Contains("one key per row"));
    std::vector<Vector> one = {own[0]};
    CHECK_THROWS_WITH(attn::head_focus(one, {one[0].size()}),
                      Contains("attn::head_focus") && Contains("keys[0]") && Contains("outside"));
    one[0](0) = -0.5f;
    one[0](1) = 0.5f;
    CHECK_THROWS_WITH(attn::head_focus(one, {1}),
                      Contains("attn::head_focus") && Contains("rows[0]") && Contains("-0.5"));
    one[0] = own[0];
    one[0](0) = std::numeric_limits<float>::quiet_NaN();
    CHECK_THROWS_WITH(attn::head_focus(one, {1}),
                      Contains("attn::head_focus") && Contains("rows[0]") && Contains("nan"));
    one[0] = own[0];
    one[0](0) = 1.0f;
    CHECK_THROWS_WITH(attn::head_focus(one, {1}),
                      Contains("attn::head_focus") && Contains("rows[0] sums to 2"));
}

TEST_CASE("verb_rows: every head's weights in the row that predicts the verb, one per sentence") {
    using attn::test::NamesShapeError;
    const attn::Language lang;
    attn::Rng rng(6);
    attn::LlamaConfig c = attn::agreement_llama_config(lang.words().size());
    c.n_heads = 2;
    c.n_kv_heads = 1;
    const attn::LlamaParameters model = attn::llama_init(c, rng);
    const std::vector<attn::Sentence> some = {lang.sentences()[7], lang.sentences()[1570],
                                              lang.sentences()[2500]};
    const std::vector<std::vector<Vector>> rows = attn::verb_rows(model, lang, some);
    REQUIRE(rows.size() == 4);  // 2 blocks x 2 heads
    for (std::size_t i = 0; i < some.size(); ++i) {
        const std::size_t verb = some[i].verb_position;
        const attn::LlamaActivations f =
            attn::llama_forward_batch(model, {attn::sentence_sequence(lang, some[i]).inputs});
        for (std::size_t l = 0; l < 2; ++l) {
            for (std::size_t h = 0; h < 2; ++h) {
                INFO("sentence " << i << ", block " << l << ", head " << h);
                REQUIRE(rows[l * 2 + h].size() == some.size());
                const Vector expected =
                    xt::view(f.blocks[l].attention_weights, verb, h, xt::range(0, verb + 1));
                CHECK_THAT(rows[l * 2 + h][i], IsClose(expected, 1e-6f));
            }
        }
    }
    CHECK_THROWS_WITH(attn::verb_rows(model, lang, {}),
                      Contains("attn::verb_rows") && Contains("no sentence"));
    std::vector<attn::Sentence> bad = {some[0], some[1]};
    bad[1].subject_position = bad[1].verb_position;
    CHECK_THROWS_MATCHES(attn::verb_rows(model, lang, bad), std::invalid_argument,
                         NamesShapeError("attn::verb_rows", "sentences[1]"));
    bad[1] = some[1];
    bad[1].tokens[0] = 99;
    CHECK_THROWS_MATCHES(attn::verb_rows(model, lang, bad), std::invalid_argument,
                         NamesShapeError("attn::verb_rows", "99"));
}
