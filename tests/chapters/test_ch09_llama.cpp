// Chapter 09, the Llama: RMSNorm's, RoPE's and SwiGLU's backward passes and the whole
// model's gradient (grouped-query heads) against PyTorch's autograd
// (tests/reference/ch09_llama.txt, float64 rounded once) and against central finite
// differences; the parameter buffer's views, AdamW over it against torch.optim.AdamW, and
// the trained numbers running as chapter 08's Llama and through its checkpoint file.
#include "chapters/08_real_model/checkpoint.hpp"
#include "chapters/09_learning/backward.hpp"
#include "chapters/09_learning/llama_gradients.hpp"
#include "chapters/09_learning/llama_parameters.hpp"
#include "chapters/09_learning/training.hpp"

#include "finite_difference.hpp"
#include "matchers.hpp"
#include "reference.hpp"

#include <xtensor/xview.hpp>

#include <catch2/catch.hpp>

#include <cmath>
#include <filesystem>
#include <functional>
#include <string>
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
    return Reference::load("ch09_llama");
}

std::vector<std::size_t> ids(const Vector& v) {
    return {v.begin(), v.end()};
}

// A tensor of the buffer as a matrix `[rows, cols]` (a gain as `[d, 1]`).
Matrix slot_matrix(const attn::LlamaParameters& p, const attn::TensorSlot& s) {
    Matrix m = xt::zeros<float>({s.rows, s.cols});
    std::copy_n(p.data() + s.offset, s.size, m.data());
    return m;
}

// The reference file's key for a slot: "layers[1].w_k" -> "<prefix>layers1.w_k".
std::string key_of(const std::string& prefix, const std::string& slot) {
    std::string k;
    for (char ch : slot)
        if (ch != '[' && ch != ']') k += ch;
    return prefix + k;
}

// The reference Llama of ch09_llama.txt: vocabulary 11, dim 16, SwiGLU 12, 2 layers, 4
// query heads sharing 2 key/value heads, seq_len 8, tied classifier.
attn::LlamaConfig reference_config() {
    attn::LlamaConfig c;
    c.dim = 16;
    c.hidden_dim = 12;
    c.n_layers = 2;
    c.n_heads = 4;
    c.n_kv_heads = 2;
    c.vocab_size = 11;
    c.seq_len = 8;
    return c;
}

attn::LlamaParameters reference_parameters(const std::string& prefix) {
    attn::LlamaParameters p(reference_config());
    for (const attn::TensorSlot& s : p.slots()) {
        const std::string key = key_of(prefix, s.name);
        if (s.cols == 1) {
            const Vector v = ref().vector(key);
            REQUIRE(v.size() == s.size);
            std::copy(v.begin(), v.end(), p.data() + s.offset);
        } else {
            const Matrix m = ref().matrix(key);
            REQUIRE(m.shape(0) == s.rows);
            REQUIRE(m.shape(1) == s.cols);
            std::copy(m.begin(), m.end(), p.data() + s.offset);
        }
    }
    return p;
}

std::vector<attn::Sequence> reference_batch() {
    return {{ids(ref().vector("llama.inputs0")), ids(ref().vector("llama.targets0"))},
            {ids(ref().vector("llama.inputs1")), ids(ref().vector("llama.targets1"))}};
}

// Every tensor of `got` against the same tensor of `want`, named in a failure.
void check_every_slot(const attn::LlamaParameters& got, const attn::LlamaParameters& want,
                      float tolerance) {
    for (const attn::TensorSlot& s : got.slots()) {
        INFO(s.name);
        CHECK_THAT(slot_matrix(got, s), IsClose(slot_matrix(want, s), tolerance));
    }
}

}  // namespace

TEST_CASE("rms_norm_backward equals PyTorch's autograd, with eps mattering in tiny rows") {
    for (const std::string k : {"rms.", "rmst."}) {
        INFO(k);
        const Matrix x = ref().matrix(k + "x"), dy = ref().matrix(k + "dy");
        const Vector gain = ref().vector(k + "gain");
        CHECK_THAT(attn::rms_norm(x, gain), IsClose(ref().matrix(k + "y"), 1e-5f));
        const attn::RmsNormGradients g = attn::rms_norm_backward(x, gain, dy);
        // Tiny rows divide by r near 3e-3: dx near 1000, where a float is 6e-5 apart.
        CHECK_THAT(g.dx, IsClose(ref().matrix(k + "dx"), k == "rms." ? 1e-5f : 1e-3f));
        CHECK_THAT(g.dgain, IsClose(ref().vector(k + "dgain"), 1e-5f));
    }
}

TEST_CASE("rms_norm_backward equals a finite difference of rms_norm") {
    const Matrix x = ref().matrix("rms.x"), dy = ref().matrix("rms.dy");
    const Vector gain = ref().vector("rms.gain");
    const Matrix fd = finite_difference(
        x, [&](const Matrix& v) { return loss_of(attn::rms_norm(v, gain), dy); }, 1e-3f);
    CHECK_THAT(attn::rms_norm_backward(x, gain, dy).dx, IsClose(fd, 2e-3f));
}

TEST_CASE("rope_backward equals PyTorch's autograd and undoes rope's rotation") {
    for (const std::string k : {"rope.", "ropeb."}) {
        INFO(k);
        const Matrix x = ref().matrix(k + "x"), dy = ref().matrix(k + "dy");
        const auto first = static_cast<std::size_t>(ref().vector(k + "first")(0));
        CHECK_THAT(attn::rope(x, first), IsClose(ref().matrix(k + "y"), 1e-5f));
        CHECK_THAT(attn::rope_backward(dy, first), IsClose(ref().matrix(k + "dx"), 1e-5f));
        // A rotation's transpose is its inverse: backward of the forward gives x back.
        CHECK_THAT(attn::rope_backward(attn::rope(x, first), first), IsClose(x, 1e-5f));
    }
    CHECK_THROWS_WITH(attn::rope_backward(xt::zeros<float>({2, 5}), 0),
                      Contains("attn::rope_backward") && Contains("even"));
}

TEST_CASE("silu_gate_backward equals PyTorch's autograd and a finite difference") {
    const Matrix gate = ref().matrix("swiglu.gate"), up = ref().matrix("swiglu.up"),
                 dy = ref().matrix("swiglu.dy");
    CHECK_THAT(attn::silu_gate(gate, up), IsClose(ref().matrix("swiglu.y"), 1e-5f));
    const attn::SiluGateGradients g = attn::silu_gate_backward(gate, up, dy);
    CHECK_THAT(g.d_gate, IsClose(ref().matrix("swiglu.dgate"), 1e-5f));
    CHECK_THAT(g.d_up, IsClose(ref().matrix("swiglu.dup"), 1e-5f));
    const Matrix fd = finite_difference(
        gate, [&](const Matrix& a) { return loss_of(attn::silu_gate(a, up), dy); }, 1e-3f);
    CHECK_THAT(g.d_gate, IsClose(fd, 2e-3f));
    CHECK_THROWS_WITH(attn::silu_gate_backward(gate, xt::zeros<float>({3, 6}), dy),
                      Contains("attn::silu_gate_backward") && Contains("up"));
}

TEST_CASE("llama_gradients: the loss and the gradient of every tensor equal PyTorch's") {
    const attn::LlamaParameters p = reference_parameters("llama.");
    const attn::LlamaActivations f =
        attn::llama_forward_batch(p, {ids(ref().vector("llama.inputs0"))});
    CHECK_THAT(f.logits, IsClose(ref().matrix("llama.logits0"), 1e-5f));
    attn::LlamaParameters g(p.config());
    const double loss = attn::llama_gradients(p, reference_batch(), g);
    CHECK(std::abs(loss - ref().vector("llama.loss")(0)) < 1e-5);
    // W_k and W_v add the gradients of the two query heads that share each key/value head;
    // the embedding adds its rows' and the tied classifier's.
    check_every_slot(g, reference_parameters("llama.d."), 1e-5f);
}

TEST_CASE("llama_forward_batch runs chapter 08's Llama: the same logits, alone or batched") {
    const attn::LlamaParameters p = reference_parameters("llama.");
    const attn::Llama model = attn::to_llama(p);
    const std::vector<std::size_t> a = ids(ref().vector("llama.inputs0")),
                                   b = ids(ref().vector("llama.inputs1"));
    const attn::LlamaActivations f = attn::llama_forward_batch(p, {a, b});
    CHECK_THAT(Matrix(xt::view(f.logits, xt::range(0, a.size()), xt::all())),
               IsClose(model.logits(a), 1e-5f));
    CHECK_THAT(Matrix(xt::view(f.logits, xt::range(a.size(), a.size() + b.size()), xt::all())),
               IsClose(model.logits(b), 1e-5f));
    CHECK_THROWS_WITH(attn::llama_forward_batch(p, {a, std::vector<std::size_t>(9, 1)}),
                      Contains("sequences[1]") && Contains("seq_len 8"));
    CHECK_THROWS_WITH(attn::llama_forward_batch(p, {{3, 11}}), Contains("11"));
}

TEST_CASE("llama_gradients equals a central finite difference of the loss, every number") {
    // A small random Llama with grouped-query heads; its loss in float, steps of 2e-3.
    attn::LlamaConfig c = reference_config();
    c.vocab_size = 7;
    c.dim = 8;
    c.hidden_dim = 12;
    attn::Rng rng(99);
    attn::LlamaParameters p = attn::llama_init(c, rng);
    for (std::size_t i = 0; i < p.size(); ++i) p.data()[i] += 0.3f * rng.normal();
    const std::vector<attn::Sequence> batch{{{1, 4, 2, 6, 0}, {4, 2, 6, 0, 3}},
                                            {{5, 5, 1}, {5, 1, 2}}};
    attn::LlamaParameters g(c);
    attn::llama_gradients(p, batch, g);
    double largest = 0.0;
    for (std::size_t i = 0; i < p.size(); ++i) {
        const float keep = p.data()[i], h = 2e-3f;
        attn::LlamaParameters scratch(c);
        p.data()[i] = keep + h;
        const double plus = attn::llama_gradients(p, batch, scratch);
        p.data()[i] = keep - h;
        const double minus = attn::llama_gradients(p, batch, scratch);
        p.data()[i] = keep;
        const double fd = (plus - minus) / (2.0 * h);
        largest = std::max(largest, std::abs(fd));
        INFO("number " << i);
        CHECK(std::abs(g.data()[i] - fd) <= 1e-3 + 1e-2 * std::abs(fd));
    }
    CHECK(largest > 0.05);  // the gradients are not all nearly 0
}

TEST_CASE("LlamaParameters: llama2.c's order, named views, round trips through a checkpoint") {
    const attn::LlamaParameters p = reference_parameters("llama.");
    const attn::LlamaTensors<const float> t = p.tensors();
    CHECK(t.token_embedding == p.data());
    CHECK(t.layers[0].attention_norm == p.data() + 11 * 16);
    CHECK(t.layers[1].attention_norm == p.data() + 11 * 16 + 16);
    CHECK(t.layers[0].w_q == p.data() + 11 * 16 + 2 * 16);
    CHECK(t.layers[1].w_up + 12 * 16 == t.final_norm);  // w3 last among the blocks' tensors
    CHECK(t.final_norm + 16 == p.data() + p.size());
    // to_llama() -> write_checkpoint() -> read_checkpoint() -> from_llama(): the same numbers.
    const std::filesystem::path file =
        std::filesystem::temp_directory_path() / "attn_test_ch09_llama.bin";
    attn::write_checkpoint(file, attn::to_llama(p));
    const attn::LlamaParameters back = attn::from_llama(attn::read_checkpoint(file));
    std::filesystem::remove(file);
    REQUIRE(back.size() == p.size());
    CHECK(std::equal(p.data(), p.data() + p.size(), back.data()));
}

TEST_CASE("BufferAdamW: three steps equal torch.optim.AdamW's, decay on the blocks' matrices") {
    attn::LlamaParameters p = reference_parameters("llama.");
    const attn::LlamaParameters g = reference_parameters("llama.d.");
    attn::AdamWSettings s;
    s.beta2 = 0.95f;
    s.weight_decay = 0.1f;
    attn::BufferAdamW adamw(p, s);
    for (int i = 0; i < 3; ++i) adamw.step(p, g, 1e-2f);
    CHECK(adamw.steps() == 3);
    check_every_slot(p, reference_parameters("llama.adamw3."), 2e-6f);
    CHECK_THROWS_WITH(adamw.step(p, g, 0.0f), Contains("learning rate"));
    attn::LlamaConfig other = p.config();
    other.vocab_size = 12;
    CHECK_THROWS_WITH(adamw.step(p, attn::LlamaParameters(other), 1e-2f),
                      Contains("attn::BufferAdamW::step") && Contains("numbers"));
}

TEST_CASE("llama_training_step lowers the loss and refuses a gradient that is not finite") {
    attn::LlamaParameters p = reference_parameters("llama.");
    attn::LlamaParameters g(p.config());
    attn::BufferAdamW adamw(p);
    const std::vector<attn::Sequence> batch = reference_batch();
    const double first = attn::llama_training_step(p, g, adamw, batch, 1e-2f).loss;
    double last = first;
    for (int i = 0; i < 20; ++i) last = attn::llama_training_step(p, g, adamw, batch, 1e-2f).loss;
    CHECK(last < 0.8 * first);
    p.data()[p.slots()[3].offset] = NAN;  // a number of layers[0].w_q
    CHECK_THROWS_WITH(attn::llama_training_step(p, g, adamw, batch, 1e-2f),
                      Contains("attn::llama_training_step: step 22") && Contains("nan"));
}

TEST_CASE("train_agreement_llama is seeded; evaluate and verb_rows run the Llama as batches") {
    const attn::Language language;
    attn::Rng rng(20);
    const attn::LanguageSplit split = attn::split_sentences(language, 0.2, rng);
    std::size_t calls = 0;
    const attn::LlamaParameters a = attn::train_agreement_llama(
        language, split.train, 3,
        [&](std::size_t step, const attn::StepReport& r, const attn::LlamaParameters&) {
            CHECK(step == calls);
            CHECK(std::isfinite(r.loss));
            ++calls;
        });
    CHECK(calls == 3);
    const attn::LlamaParameters b = attn::train_agreement_llama(language, split.train, 3);
    CHECK(std::equal(a.data(), a.data() + a.size(), b.data()));  // the same seeded run
    CHECK(a.config().n_kv_heads == 2);
    // evaluate() of the buffer: the logits of chapter 08's Llama, sentence by sentence.
    const std::vector<attn::Sentence> some(split.held_out.begin(), split.held_out.begin() + 20);
    const attn::Llama model = attn::to_llama(a);
    const attn::Agreement direct = attn::evaluate(a, language, some);
    const attn::Agreement through =
        attn::evaluate([&](const std::vector<std::size_t>& inputs) { return model.logits(inputs); },
                       language, some);
    CHECK(direct.loss == Approx(through.loss).epsilon(1e-6));
    CHECK(direct.correct == through.correct);
    // verb_rows(): one row per sentence for every head, over the keys up to the verb's row.
    const std::vector<std::vector<Vector>> rows = attn::verb_rows(a, language, some);
    REQUIRE(rows.size() == 2 * 4);
    for (const std::vector<Vector>& head : rows) {
        REQUIRE(head.size() == some.size());
        for (std::size_t i = 0; i < some.size(); ++i) {
            CHECK(head[i].size() == some[i].verb_position + 1);
            CHECK(xt::sum(head[i])() == Approx(1.0f).epsilon(1e-5));
        }
    }
    CHECK_THROWS_WITH(attn::train_agreement_llama(language, split.train, 0), Contains("steps"));
    CHECK_THROWS_WITH(attn::train_agreement_llama(language, {}, 2), Contains("no sentence"));
}

TEST_CASE("train_agreement_llama refuses a sentence longer than the model's context, naming it") {
    const attn::Language language;
    attn::Rng rng(20);
    attn::LanguageSplit split = attn::split_sentences(language, 0.2, rng);
    std::vector<attn::Sentence> train(split.train.begin(), split.train.begin() + 3);
    train[2].tokens.resize(17, train[2].tokens.back());
    CHECK_THROWS_WITH(attn::train_agreement_llama(language, train, 2),
                      Contains("attn::train_agreement_llama") && Contains("train[2] holds 17"));
}
