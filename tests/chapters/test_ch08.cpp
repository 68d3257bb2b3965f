// Chapter 08's own code against an independent PyTorch implementation of the Llama forward
// pass (tests/reference/generate.py wrote the checkpoint, the tokenizer and the expected
// numbers): RoPE, the block, logits, greedy tokens, cached against recomputed, the
// tokenizer, top-p sampling; and every kind of damaged file a reader may point it at.
#include "chapters/08_real_model/checkpoint.hpp"
#include "chapters/08_real_model/decode_kernels.hpp"
#include "chapters/08_real_model/tokenizer.hpp"

#include "common/random.hpp"
#include "matchers.hpp"
#include "reference.hpp"

#include <xtensor/xview.hpp>

#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iterator>

#include <unistd.h>

using attn::Matrix;
using attn::Vector;
using attn::test::IsClose;
using attn::test::Reference;
using Catch::Matchers::Contains;

namespace {

const Reference& ref() {
    return Reference::load("ch08");
}

std::vector<std::size_t> ids(const Vector& v) {
    return {v.begin(), v.end()};
}

const attn::Llama& test_model() {
    static const attn::Llama model = attn::read_checkpoint(Reference::file("ch08_model.bin"));
    return model;
}

attn::Tokenizer test_tokenizer() {
    return attn::Tokenizer::read(Reference::file("ch08_tokenizer.bin"), 324);
}

// A scratch directory for the damaged files, removed at the end of each test.
struct Scratch {
    std::filesystem::path dir;
    Scratch() {
        dir = std::filesystem::temp_directory_path() /
              ("attn_ch08_" + std::to_string(reinterpret_cast<std::uintptr_t>(this)) + "_" +
               std::to_string(::getpid()));
        std::filesystem::create_directories(dir);
    }
    ~Scratch() { std::filesystem::remove_all(dir); }
    // A copy of `source` changed by `edit`, which gets the bytes.
    std::string damaged(const std::string& source, const std::string& name,
                        const std::function<void(std::string&)>& edit) const {
        std::ifstream in(source, std::ios::binary);
        std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
        edit(bytes);
        const std::filesystem::path path = dir / name;
        std::ofstream(path, std::ios::binary) << bytes;
        return path.string();
    }
};

void set_int(std::string& bytes, std::size_t index, std::int32_t value) {
    std::memcpy(bytes.data() + 4 * index, &value, sizeof value);
}

}  // namespace

TEST_CASE("rope rotates each pair by position times its frequency, as PyTorch's complex form") {
    const Matrix x = ref().matrix("rope.x");
    CHECK_THAT(attn::rope(x, 3), IsClose(ref().matrix("rope.out"), 1e-5f));
    CHECK_THAT(attn::rope(x, 0), IsClose(ref().matrix("rope.from_zero"), 1e-5f));
    // rope_heads does the same to every head of a [n_heads, T, d_head] tensor.
    attn::Tensor3 heads = xt::stack(xt::xtuple(x, 2.0f * x));
    attn::rope_heads(heads, 3, 10000.0f);
    CHECK_THAT(Matrix(xt::view(heads, 1, xt::all(), xt::all())),
               IsClose(Matrix(2.0f * ref().matrix("rope.out")), 1e-5f));
}

TEST_CASE("after RoPE, a query-key score depends only on the distance m - n") {
    attn::Rng rng(8);
    const Matrix q = attn::random_normal(1, 64, rng), k = attn::random_normal(1, 64, rng);
    const auto score = [&](std::size_t m, std::size_t n) {
        return xt::sum(attn::rope(q, m) * attn::rope(k, n))();
    };
    for (std::size_t distance : {0, 1, 7, 100}) {
        INFO("distance " << distance);
        const float at_start = score(distance, 0);
        for (std::size_t n : {1, 50, 1000})
            CHECK(std::abs(score(n + distance, n) - at_start) < 1e-3f);
    }
    CHECK(std::abs(score(5, 0) - score(0, 0)) > 1e-2f);  // and it does depend on the distance
    // Rotations keep lengths.
    CHECK(std::abs(xt::sum(xt::square(attn::rope(q, 77)))() - xt::sum(xt::square(q))()) < 1e-3f);
}

TEST_CASE("rope refuses an odd width and a theta that is not above 1") {
    CHECK_THROWS_WITH(attn::rope(Matrix(xt::ones<float>({2, 5})), 0),
                      Contains("attn::rope") && Contains("even, got 5"));
    CHECK_THROWS_WITH(attn::rope(Matrix(xt::ones<float>({2, 4})), 0, 0.5f), Contains("theta"));
}

TEST_CASE("a Llama block equals PyTorch's, and shifting every position changes nothing") {
    attn::MultiHeadWeights attention;
    attention.w_q = ref().matrix("block.w_q");
    attention.w_k = ref().matrix("block.w_k");
    attention.w_v = ref().matrix("block.w_v");
    attention.w_o = ref().matrix("block.w_o");
    const attn::LlamaLayer layer = attn::llama_layer(
        ref().vector("block.attention_norm"), attention, ref().vector("block.ffn_norm"),
        {ref().matrix("block.w_gate"), ref().matrix("block.w_up"), ref().matrix("block.w_down")});
    // Stored [out, in]: the transpose of the book's W.
    CHECK_THAT(layer.w_k.stored(), IsClose(Matrix(xt::transpose(attention.w_k)), 0.0f));
    attn::LlamaConfig c;
    c.dim = 16;
    c.n_heads = 4;
    c.n_kv_heads = 2;
    const Matrix x = ref().matrix("block.x");
    CHECK_THAT(attn::llama_block(x, layer, 0, c), IsClose(ref().matrix("block.out"), 1e-5f));
    CHECK_THAT(attn::llama_block(x, layer, 100, c), IsClose(ref().matrix("block.shifted"), 1e-5f));
    CHECK_THAT(ref().matrix("block.shifted"), IsClose(ref().matrix("block.out"), 1e-5f));
}

TEST_CASE("the test checkpoint is read with its header's configuration") {
    attn::CheckpointInfo info;
    const attn::Llama model = attn::read_checkpoint(Reference::file("ch08_model.bin"), &info);
    const attn::LlamaConfig& c = model.config();
    CHECK(c.dim == 64);
    CHECK(c.hidden_dim == 96);
    CHECK(c.n_layers == 2);
    CHECK(c.n_heads == 4);
    CHECK(c.n_kv_heads == 2);
    CHECK(c.vocab_size == 324);
    CHECK(c.seq_len == 32);
    CHECK(c.shared_classifier);
    CHECK(info.file_bytes == std::filesystem::file_size(Reference::file("ch08_model.bin")));
    CHECK(info.rope_table_difference < 1e-6f);  // PyTorch wrote them in float64, rounded once
    // The layout ends where the file ends.
    const auto parts = attn::checkpoint_layout(c);
    CHECK(parts.back().offset + parts.back().bytes == info.file_bytes);
}

TEST_CASE("the checkpoint's logits equal PyTorch's to 1e-4") {
    const std::vector<std::size_t> prompt = ids(ref().vector("model.prompt"));
    CHECK_THAT(test_model().logits(prompt), IsClose(ref().matrix("model.logits"), 1e-4f));
    attn::CachedLlama cached(test_model());
    CHECK_THAT(cached.prefill(prompt), IsClose(ref().matrix("model.logits"), 1e-4f));
}

TEST_CASE("greedy generation gives PyTorch's tokens until the context is full") {
    const std::vector<std::size_t> expected = ids(ref().vector("model.greedy"));
    const std::vector<std::size_t> prompt = ids(ref().vector("model.prompt"));
    attn::Rng rng(1);
    std::size_t streamed = 0;
    const auto tokens = attn::llama_generate(test_model(), prompt, 100, {}, rng, [&](std::size_t) {
        ++streamed;
        return true;
    });
    CHECK(tokens == expected);  // stops at seq_len = 32, though 100 were asked
    CHECK(streamed == expected.size() - prompt.size());
}

TEST_CASE("cached decoding equals recomputing at every step, until the context is full") {
    const std::vector<std::size_t> tokens = ids(ref().vector("model.greedy"));
    const std::vector<std::size_t> prompt(tokens.begin(), tokens.begin() + 3);
    attn::CachedLlama cached(test_model());
    cached.prefill(prompt);
    const Matrix all = test_model().logits(tokens);
    float worst = 0.0f;
    for (std::size_t t = 3; t < tokens.size(); ++t) {
        const Vector got = cached.decode(tokens[t]);
        worst = std::max(worst, static_cast<float>(xt::amax(xt::abs(got - xt::row(all, t)))()));
    }
    CHECK(worst < 1e-4f);
    CHECK_THROWS_WITH(cached.decode(5), Contains("the context is full") && Contains("32"));
}

TEST_CASE(
    "forward() runs the prompt in pieces as prefill() runs it whole, and one token as "
    "decode() does") {
    // The prompt, then two tokens at once, then one at a time, each piece attending over
    // what the cache holds, against the whole sequence run without a cache.
    const std::vector<std::size_t> tokens = ids(ref().vector("model.greedy"));
    attn::CachedLlama pieces(test_model()), decoded(test_model());
    const std::vector<std::size_t> prompt(tokens.begin(), tokens.begin() + 3);
    pieces.prefill(prompt);
    decoded.prefill(prompt);
    const Matrix two = pieces.forward({tokens[3], tokens[4]});
    const Matrix whole = test_model().logits(tokens);
    CHECK_THAT(two, IsClose(Matrix(xt::view(whole, xt::range(3, 5), xt::all())), 1e-4f));
    (void)decoded.decode(tokens[3]);
    (void)decoded.decode(tokens[4]);
    for (std::size_t t = 5; t < tokens.size(); ++t) {
        const Matrix by_blocks = pieces.forward({tokens[t]});
        CHECK_THAT(Vector(xt::row(by_blocks, 0)), IsClose(decoded.decode(tokens[t]), 1e-4f));
    }
    CHECK_THROWS_WITH(pieces.forward({1}), Contains("do not fit") && Contains("seq_len = 32"));
}

TEST_CASE("the Llama constructor names the layer and the weight that do not fit") {
    const attn::LlamaConfig c = test_model().config();
    const auto refused = [&](auto damage, const std::string& name) {
        attn::LlamaWeights w = test_model().weights();
        damage(w.layers[1]);
        INFO(name);
        CHECK_THROWS_WITH(attn::Llama(c, w), Contains("attn::Llama") && Contains("'" + name + "'"));
    };
    refused(
        [](attn::LlamaLayer& l) {
            l.w_k = attn::LinearWeight::from_out_in(xt::zeros<float>({3, 64}));
        },
        "layers[1].w_k");
    refused([](attn::LlamaLayer& l) { l.ffn_norm = Vector::from_shape({3}); },
            "layers[1].ffn_norm");
    refused(
        [](attn::LlamaLayer& l) {
            l.w_up = attn::LinearWeight::from_out_in(xt::zeros<float>({2, 2}));
        },
        "layers[1].w_up");
    // The stored shape is checked, not only the count: a W_down given [in, out].
    refused(
        [](attn::LlamaLayer& l) {
            l.w_down = attn::LinearWeight::from_out_in(xt::zeros<float>({96, 64}));
        },
        "layers[1].w_down");
    attn::LlamaWeights fewer = test_model().weights();
    fewer.layers.pop_back();
    CHECK_THROWS_WITH(attn::Llama(c, fewer), Contains("1 layers") && Contains("n_layers = 2"));
}

TEST_CASE("llama_layer refuses biases, which a Llama block has not") {
    attn::MultiHeadWeights attention;
    attention.w_q = attention.w_k = attention.w_v = attention.w_o = xt::zeros<float>({4, 4});
    attention.b_q = xt::zeros<float>({4});
    CHECK_THROWS_WITH(attn::llama_layer(xt::ones<float>({4}), attention, xt::ones<float>({4}),
                                        {xt::zeros<float>({4, 8}), xt::zeros<float>({4, 8}),
                                         xt::zeros<float>({8, 4})}),
                      Contains("attn::llama_layer") && Contains("no biases"));
}

TEST_CASE("a read checkpoint points into the file: the classifier is the embedding, not a copy") {
    const attn::LlamaWeights& w = test_model().weights();
    CHECK(w.classifier.data() == w.token_embedding.data());
    // The embedding's rows are the file's bytes at the embedding's offset.
    std::ifstream in(Reference::file("ch08_model.bin"), std::ios::binary);
    std::vector<float> first(w.token_embedding.in());
    in.seekg(static_cast<std::streamoff>(attn::checkpoint_layout(test_model().config())[0].offset) +
             static_cast<std::streamoff>(5 * first.size() * sizeof(float)));
    in.read(reinterpret_cast<char*>(first.data()),
            static_cast<std::streamsize>(first.size() * sizeof(float)));
    for (std::size_t i = 0; i < first.size(); ++i)
        CHECK(w.token_embedding.data()[5 * first.size() + i] == first[i]);
}

TEST_CASE("linear multiplies by a weight stored [out, in] and names a mismatch") {
    const Matrix x = {{1.0f, 2.0f, 3.0f}, {0.5f, -1.0f, 2.0f}};
    const Matrix w_in_out = {{1.0f, 0.0f}, {2.0f, -1.0f}, {0.5f, 4.0f}};
    const attn::LinearWeight w = attn::LinearWeight::from_in_out(w_in_out);
    CHECK(w.out() == 2);
    CHECK(w.in() == 3);
    CHECK_THAT(attn::project(x, w), IsClose(Matrix{{6.5f, 10.0f}, {-0.5f, 9.0f}}, 1e-6f));
    // One row goes through the matrix-vector product.
    CHECK_THAT(attn::project(Matrix{{1.0f, 2.0f, 3.0f}}, w), IsClose(Matrix{{6.5f, 10.0f}}, 1e-6f));
    CHECK_THROWS_WITH(
        attn::project(Matrix(xt::ones<float>({2, 2})), w, "attn::caller", "w_up"),
        Contains("attn::caller") && Contains("'w_up'") && Contains("[2, 3]") && Contains("in = 3"));
}

TEST_CASE("a prompt longer than seq_len is refused, naming both lengths") {
    attn::CachedLlama cached(test_model());
    const std::vector<std::size_t> long_prompt(33, 5);
    CHECK_THROWS_WITH(cached.prefill(long_prompt),
                      Contains("33 tokens") && Contains("seq_len = 32"));
    CHECK_THROWS_WITH(cached.decode(3), Contains("run prefill()"));
    CHECK_THROWS_WITH(test_model().logits({1, 324}),
                      Contains("tokens[1] = 324 is outside 0..323 (324 tokens in the vocabulary)"));
}

TEST_CASE("the tokenizer encodes as the Python reference does, and decodes back") {
    const attn::Tokenizer tok = test_tokenizer();
    for (int i = 0; i < 10; ++i) {
        const Vector bytes = ref().vector("tokenizer.text" + std::to_string(i));
        std::string text;
        for (float b : bytes) text += static_cast<char>(static_cast<unsigned char>(b));
        INFO("text \"" << text << "\"");
        const std::vector<std::size_t> tokens = tok.encode(text, true);
        CHECK(tokens == ids(ref().vector("tokenizer.tokens" + std::to_string(i))));
        CHECK(tok.decode(tokens) == text);
    }
}

TEST_CASE("encoding records every merge, ending with the result") {
    const attn::Tokenizer tok = test_tokenizer();
    std::vector<std::vector<std::size_t>> merges;
    const auto tokens = tok.encode("the cat sat.", true, &merges);
    REQUIRE(merges.size() >= 3);
    CHECK(merges.back() == tokens);
    for (std::size_t i = 1; i < merges.size(); ++i)
        CHECK(merges[i].size() + 1 == merges[i - 1].size());
}

TEST_CASE("text that is not UTF-8 is refused, naming the byte") {
    const attn::Tokenizer tok = test_tokenizer();
    CHECK_THROWS_WITH(tok.encode("ok \xff", true), Contains("not UTF-8") && Contains("0xFF"));
    CHECK_THROWS_WITH(tok.encode("caf\xc3", true), Contains("not UTF-8") && Contains("0xC3"));
    CHECK_THROWS_WITH(tok.encode("\xc0\xaf", true), Contains("not UTF-8"));  // overlong '/'
    CHECK_THROWS_WITH(tok.decode({1, 400}), Contains("tokens[1] = 400 is outside 0.."));
}

TEST_CASE("top-p sampling keeps the most likely tokens up to p and draws among them") {
    const Vector logits = ref().vector("top_p.logits");
    const Vector coins = ref().vector("top_p.coins");
    const Vector expected = ref().vector("top_p.out");
    for (std::size_t i = 0; i < coins.size(); ++i) {
        INFO("coin " << coins(i));
        CHECK(attn::sample_top_p(logits, {0.7f, 0.8f}, coins(i)) == expected(i));
    }
    // top_p 1 is the whole distribution; the coin then walks the tokens in order.
    CHECK(attn::sample_top_p(logits, {1.0f, 1.0f}, 0.0f) == 0);
    CHECK_THROWS_WITH(attn::sample_top_p(logits, {0.0f, 0.9f}, 0.5f), Contains("temperature"));
    CHECK_THROWS_WITH(attn::sample_top_p(logits, {1.0f, 1.5f}, 0.5f), Contains("top_p"));
}

TEST_CASE("a written checkpoint reads back the same model, with a stored classifier too") {
    Scratch scratch;
    for (bool shared : {true, false}) {
        INFO("shared classifier: " << shared);
        attn::LlamaConfig c;
        c.dim = 16;
        c.hidden_dim = 40;
        c.n_layers = 2;
        c.n_heads = 4;
        c.n_kv_heads = 1;
        c.vocab_size = 30;
        c.seq_len = 12;
        c.shared_classifier = shared;
        attn::Rng rng(3);
        const attn::Llama model(c, attn::llama_random(c, rng));
        const auto path = scratch.dir / "model.bin";
        attn::write_checkpoint(path, model);
        attn::CheckpointInfo info;
        const attn::Llama back = attn::read_checkpoint(path, &info);
        CHECK(back.config().shared_classifier == shared);
        CHECK(info.rope_table_difference == 0.0f);
        const std::vector<std::size_t> tokens{1, 5, 9, 29};
        CHECK_THAT(back.logits(tokens), IsClose(model.logits(tokens), 0.0f));
        CHECK_THAT(back.weights().classifier.stored(),
                   IsClose(model.weights().classifier.stored(), 0.0f));
        CHECK_THAT(back.weights().layers[1].w_up.stored(),
                   IsClose(model.weights().layers[1].w_up.stored(), 0.0f));
        CHECK((back.weights().classifier.data() == back.weights().token_embedding.data()) ==
              shared);
        // Written over the very file it is mapped from: the model keeps reading its old copy.
        attn::write_checkpoint(path, back);
        CHECK_THAT(attn::read_checkpoint(path).logits(tokens), IsClose(back.logits(tokens), 0.0f));
        CHECK_THAT(back.logits(tokens), IsClose(model.logits(tokens), 0.0f));
        CHECK_FALSE(std::filesystem::exists(scratch.dir / "model.bin.partial"));
    }
}

TEST_CASE("a damaged checkpoint gets an error naming the file and what is wrong") {
    Scratch scratch;
    const std::string good = Reference::file("ch08_model.bin");
    const auto fails = [&](const std::string& name, const std::function<void(std::string&)>& edit) {
        const std::string path = scratch.damaged(good, name, edit);
        try {
            attn::read_checkpoint(path);
        } catch (const std::invalid_argument& e) {
            const std::string what = e.what();
            CHECK_THAT(what, Contains("attn::read_checkpoint") && Contains(name));
            return what;
        }
        FAIL("read_checkpoint accepted " << name);
        return std::string();
    };
    CHECK_THROWS_WITH(attn::read_checkpoint(scratch.dir / "missing.bin"),
                      Contains("missing.bin: no such file"));
    CHECK_THAT(fails("short.bin", [](std::string& b) { b.resize(b.size() - 4); }),
               Contains("fewer than the") && Contains("truncated"));
    CHECK_THAT(fails("long.bin", [](std::string& b) { b += "0000"; }), Contains("more than the"));
    CHECK_THAT(fails("header_only.bin", [](std::string& b) { b.resize(10); }),
               Contains("10 bytes, shorter than the header"));
    CHECK_THAT(fails("empty.bin", [](std::string& b) { b.clear(); }), Contains("0 bytes"));
    CHECK_THAT(fails("zero_dim.bin", [](std::string& b) { set_int(b, 0, 0); }),
               Contains("dim 0") && Contains("must be above 0"));
    CHECK_THAT(fails("negative_layers.bin", [](std::string& b) { set_int(b, 2, -2); }),
               Contains("n_layers -2"));
    CHECK_THAT(fails("heads.bin", [](std::string& b) { set_int(b, 3, 5); }),
               Contains("inconsistent") && Contains("not a multiple of n_heads = 5"));
    CHECK_THAT(fails("kv_heads.bin", [](std::string& b) { set_int(b, 4, 3); }),
               Contains("inconsistent") && Contains("n_kv_heads"));
    CHECK_THAT(fails("odd_head.bin", [](std::string& b) { set_int(b, 3, 64); }), Contains("odd"));
    CHECK_THAT(fails("huge.bin", [](std::string& b) { set_int(b, 1, 100000); }),
               Contains("fewer than the"));
    CHECK_THAT(fails("overflow.bin",
                     [](std::string& b) {
                         set_int(b, 0, 1 << 30);
                         set_int(b, 1, 1 << 30);
                         set_int(b, 2, 1 << 30);
                         set_int(b, 3, 1 << 29);
                         set_int(b, 4, 1 << 29);
                     }),
               Contains("2^64"));
    CHECK_THAT(fails("versioned.bin", [](std::string& b) { set_int(b, 0, 0x616b3432); }),
               Contains("ak42") && Contains("--version 0"));
    // The classifier flag flipped: the file is now too short for a stored classifier.
    CHECK_THAT(fails("unshared.bin", [](std::string& b) { set_int(b, 5, -324); }),
               Contains("fewer than the") && Contains("classifier stored"));
}

TEST_CASE("a file that is not a checkpoint is called so, naming what its header reads") {
    Scratch scratch;
    const auto text = scratch.dir / "notes.md";
    std::ofstream(text) << "# The attention book\n\nA page of text, given as a checkpoint.\n";
    // Text read as int32: every size is hundreds of millions ("# Th" is 1750343715).
    CHECK_THROWS_WITH(attn::read_checkpoint(text),
                      Contains("notes.md is not a llama2.c checkpoint") &&
                          Contains("dim 1750343715") && Contains("2^64"));
    // A tokenizer given as the checkpoint.
    CHECK_THROWS_WITH(
        attn::read_checkpoint(Reference::file("ch08_tokenizer.bin")),
        Contains("ch08_tokenizer.bin is not a llama2.c checkpoint") && Contains("must be above 0"));
    // Heads that do not divide the width: named with the header's own word, dim.
    const std::string heads = scratch.damaged(Reference::file("ch08_model.bin"), "heads.bin",
                                              [](std::string& b) { set_int(b, 3, 5); });
    CHECK_THROWS_WITH(attn::read_checkpoint(heads),
                      Contains("heads.bin is not a llama2.c checkpoint") &&
                          Contains("dim 64 is not a multiple of n_heads = 5") &&
                          !Contains("d_model"));
    // Half a checkpoint is too short even for the weights that do not depend on the heads.
    const std::string half = scratch.damaged(Reference::file("ch08_model.bin"), "half.bin",
                                             [](std::string& b) { b.resize(b.size() / 2); });
    CHECK_THROWS_WITH(attn::read_checkpoint(half),
                      Contains("half.bin: the file has 166030 bytes, fewer than the") &&
                          Contains("truncated download"));
    CHECK_THROWS_WITH(attn::read_checkpoint(scratch.dir),
                      Contains(scratch.dir.string() + " is a directory, not a file"));
}

TEST_CASE("a file that is not a tokenizer is called so, naming what it reads") {
    Scratch scratch;
    const auto text = scratch.dir / "notes.md";
    std::ofstream(text) << "# The attention book\n\nA page of text, given as a tokenizer.\n";
    CHECK_THROWS_WITH(attn::Tokenizer::read(text, 324),
                      Contains("notes.md is not a tokenizer file in llama2.c's format") &&
                          Contains("max_token_length, give 1750343715 bytes") &&
                          Contains("more than the whole file's"));
    // A checkpoint given as the tokenizer: a token longer than the header's maximum.
    CHECK_THROWS_WITH(
        attn::Tokenizer::read(Reference::file("ch08_model.bin"), 324),
        Contains("ch08_model.bin is not a tokenizer file") && Contains("that its header allows"));
    CHECK_THROWS_WITH(attn::Tokenizer::read(scratch.dir, 324),
                      Contains(scratch.dir.string() + " is a directory, not a file"));
}

TEST_CASE("a damaged or mismatched tokenizer gets an error naming the file") {
    Scratch scratch;
    const std::string good = Reference::file("ch08_tokenizer.bin");
    CHECK_THROWS_WITH(attn::Tokenizer::read(scratch.dir / "none.bin", 324),
                      Contains("none.bin: no such file"));
    CHECK_THROWS_WITH(attn::Tokenizer::read(good, 32000),
                      Contains("attn::Tokenizer::read") && Contains("ch08_tokenizer.bin") &&
                          Contains("324 tokens, fewer than the model's vocabulary of 32000"));
    CHECK_THROWS_WITH(attn::Tokenizer::read(good, 300),
                      Contains("more tokens than the model's vocabulary"));
    const std::string cut =
        scratch.damaged(good, "cut.bin", [](std::string& b) { b.resize(b.size() - 1); });
    CHECK_THROWS_WITH(attn::Tokenizer::read(cut, 324),
                      Contains("cut.bin") && Contains("past the end"));
    const std::string mid = scratch.damaged(good, "mid.bin", [](std::string& b) { b.resize(6); });
    CHECK_THROWS_WITH(attn::Tokenizer::read(mid, 324), Contains("in the middle of token 0"));
    const std::string bad =
        scratch.damaged(good, "bad.bin", [](std::string& b) { set_int(b, 0, -1); });
    CHECK_THROWS_WITH(attn::Tokenizer::read(bad, 324), Contains("not a tokenizer file"));
    // A checkpoint given as the tokenizer: its header reads as a huge max length, then junk.
    CHECK_THROWS_WITH(attn::Tokenizer::read(Reference::file("ch08_model.bin"), 324),
                      Contains("ch08_model.bin"));
}

TEST_CASE("llama_parameters and the bytes per token count what the model holds") {
    const attn::LlamaConfig c = attn::stories15m_config();
    // stories15M: 15.2 million parameters, the classifier shared with the embedding.
    CHECK(attn::llama_parameters(c) == 15191712);
    CHECK(attn::weight_bytes_per_token(c) == 4 * (15191712 + 288));
    const attn::Llama& m = test_model();
    const auto count = [](const attn::LinearWeight& w) { return w.out() * w.in(); };
    std::size_t held = count(m.weights().token_embedding) + m.weights().final_norm.size();
    for (const auto& l : m.weights().layers) {
        held += l.attention_norm.size() + l.ffn_norm.size() + count(l.w_q) + count(l.w_k) +
                count(l.w_v) + count(l.w_o) + count(l.w_gate) + count(l.w_up) + count(l.w_down);
    }
    CHECK(attn::llama_parameters(m.config()) == held);
}

TEST_CASE("write_checkpoint refuses a size that does not fit in the header's int32") {
    Scratch scratch;
    attn::LlamaConfig c;
    c.dim = 2;
    c.hidden_dim = 2;
    c.n_layers = 1;
    c.n_heads = 1;
    c.n_kv_heads = 1;
    c.vocab_size = 3;
    c.seq_len = std::size_t{1} << 31;  // INT32_MAX + 1: as int32 it would be -2^31
    attn::Rng rng(5);
    const attn::Llama model(c, attn::llama_random(c, rng));
    // The sizes are checked before the file is created, so in a directory that does not
    // exist the error is still about seq_len: no file with a wrong header is ever started.
    CHECK_THROWS_MATCHES(
        attn::write_checkpoint(scratch.dir / "missing" / "model.bin", model), std::invalid_argument,
        attn::test::NamesShapeError("attn::write_checkpoint",
                                    "seq_len = 2147483648 does not fit in the header's int32"));
}

TEST_CASE("bad input is refused by the function the reader called, before anything changes") {
    using attn::test::NamesShapeError;
    const attn::Llama& model = test_model();
    CHECK_THROWS_MATCHES(model.output_logits(Matrix(xt::ones<float>({2, 5}))),
                         std::invalid_argument,
                         NamesShapeError("attn::Llama::output_logits", "[2, 5]"));

    const Vector logits = {0.5f, 2.0f, -1.0f};
    attn::Rng rng(1);
    CHECK_THROWS_MATCHES(attn::pick_token(logits, {-1.0f, 0.9f}, rng), std::invalid_argument,
                         NamesShapeError("attn::pick_token", "temperature = -1"));
    CHECK_THROWS_MATCHES(attn::pick_token(logits, {0.0f, 1.5f}, rng), std::invalid_argument,
                         NamesShapeError("attn::pick_token", "top_p = 1.5"));
    CHECK_THROWS_MATCHES(attn::pick_token(Vector::from_shape({0}), {}, rng), std::invalid_argument,
                         NamesShapeError("attn::pick_token", "[0]"));

    CHECK_THROWS_MATCHES(attn::llama_generate(model, {}, 3, {}, rng, {}), std::invalid_argument,
                         NamesShapeError("attn::llama_generate", "no token"));
    CHECK_THROWS_MATCHES(attn::llama_generate(model, {1, 324}, 3, {}, rng, {}),
                         std::invalid_argument, NamesShapeError("attn::llama_generate", "324"));
    CHECK_THROWS_MATCHES(attn::llama_generate(model, {1, 5}, 3, {-1.0f, 0.9f}, rng, {}),
                         std::invalid_argument,
                         NamesShapeError("attn::llama_generate", "temperature = -1"));

    // A refused prefill leaves the cache as it was (it used to clear it first).
    attn::CachedLlama cached(model);
    cached.prefill({1, 5, 9});
    CHECK_THROWS_MATCHES(cached.prefill({1, 324}), std::invalid_argument,
                         NamesShapeError("attn::CachedLlama::prefill", "324"));
    CHECK_THROWS_MATCHES(cached.prefill({}), std::invalid_argument,
                         NamesShapeError("attn::CachedLlama::prefill", "no token"));
    CHECK(cached.position() == 3);

    const attn::Tokenizer tok = test_tokenizer();
    CHECK_THROWS_MATCHES(tok.score(400), std::invalid_argument,
                         NamesShapeError("attn::Tokenizer::score", "token = 400"));
    CHECK_THROWS_MATCHES(tok.decode_piece(1, 400), std::invalid_argument,
                         NamesShapeError("attn::Tokenizer::decode_piece", "token = 400"));
    CHECK_THROWS_MATCHES(tok.decode({1, 400}), std::invalid_argument,
                         NamesShapeError("attn::Tokenizer::decode", "tokens[1] = 400"));
}

namespace {

// What a sliding window must give, without a ring: chapter 06's contiguous cache, each query
// attending over the last `window` rows only.
class LastRowsKV final : public attn::LlamaKV {
public:
    LastRowsKV(attn::KVCache& cache, std::size_t window)
        : cache_(cache), start_(cache.length()), window_(window) {}
    void store(std::size_t layer, const Matrix& keys, const Matrix& values) override {
        cache_.append(layer, attn::split_heads(keys, cache_.n_kv_heads()),
                      attn::split_heads(values, cache_.n_kv_heads()));
    }
    void attend(std::size_t layer, std::size_t row, std::size_t kv_head, const float* q, float* out,
                float* scores) const override {
        const std::size_t n = start_ + row + 1, first = n > window_ ? n - window_ : 0;
        const std::size_t d = cache_.d_head();
        attn::attend_one(q, cache_.key_rows(layer, kv_head) + first * d,
                         cache_.value_rows(layer, kv_head) + first * d, n - first, d, out, scores);
    }

private:
    attn::KVCache& cache_;
    std::size_t start_, window_;
};

// One token at position `position` through every block of the model, then the logits.
Vector next_logits(const attn::Llama& m, std::size_t token, std::size_t position,
                   const attn::RopeTables& rope, attn::LlamaKV& kv) {
    Matrix x = m.embed({token}, "test");
    for (std::size_t l = 0; l < m.config().n_layers; ++l)
        attn::llama_block(x, m.weights().layers[l], l, {position}, m.config(), rope, kv);
    return xt::row(m.output_logits(x), 0);
}

}  // namespace

TEST_CASE("a sliding window through the ring equals attention over the last window positions") {
    const attn::Llama& m = test_model();
    const attn::LlamaConfig& c = m.config();
    const attn::RopeTables rope = attn::rope_tables(0, c.seq_len, c.dim / c.n_heads, c.rope_theta);
    attn::Rng rng(8);
    std::vector<std::size_t> tokens;
    for (int t = 0; t < 20; ++t)
        tokens.push_back(static_cast<std::size_t>(rng.uniform() * float(c.vocab_size - 1)));
    for (const std::size_t window : {std::size_t{1}, std::size_t{5}, std::size_t{20}}) {
        attn::WindowKV ring(c, window);
        attn::KVCache cache(c.n_layers, c.n_kv_heads, c.dim / c.n_heads, c.seq_len);
        for (std::size_t t = 0; t < tokens.size(); ++t) {
            LastRowsKV last(cache, window);
            INFO("window " << window << ", position " << t);
            CHECK_THAT(next_logits(m, tokens[t], t, rope, ring),
                       IsClose(next_logits(m, tokens[t], t, rope, last), 1e-5f));
        }
    }
    // A window as long as the text is the whole cache: the same logits as CachedLlama.
    attn::WindowKV ring(c, tokens.size());
    const Matrix whole = attn::CachedLlama(m).prefill(tokens);
    for (std::size_t t = 0; t < tokens.size(); ++t)
        CHECK_THAT(next_logits(m, tokens[t], t, rope, ring),
                   IsClose(Vector(xt::row(whole, t)), 1e-4f));
    // A step of two rows would let the first see the second's key.
    attn::WindowKV two(c, 4);
    CHECK_THROWS_WITH(two.store(0, Matrix(xt::zeros<float>({std::size_t{2}, c.dim})),
                                Matrix(xt::zeros<float>({std::size_t{2}, c.dim}))),
                      Contains("attn::WindowKV::store") && Contains("2 rows"));
}

TEST_CASE(
    "the Llama's configuration and the sliding window are checked where the reader "
    "gives them") {
    attn::LlamaConfig c = test_model().config();
    c.rope_theta = 1.0f;
    attn::Rng rng(2);
    CHECK_THROWS_WITH(attn::llama_random(c, rng),
                      Contains("attn::llama_random") && Contains("rope_theta = 1"));
    CHECK_THROWS_WITH(attn::WindowKV(test_model().config(), 0),
                      Contains("attn::WindowKV") && Contains("window = 0"));
}
