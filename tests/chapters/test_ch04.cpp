// Chapter 04's own code: PyTorch reference values (tests/reference/ch04.txt, max abs error
// 1e-5), properties (the batched form equals the loop, GQA is MHA with copied key/value
// heads, the cost does not depend on the number of heads, the designed heads find their
// relations), rejected input.
#include "chapters/04_multi_head_attention/multi_head_attention.hpp"

#include "chapters/01_single_head_attention/running_example.hpp"
#include "common/random.hpp"
#include "matchers.hpp"
#include "reference.hpp"

#include <xtensor/xbuilder.hpp>
#include <xtensor/xsort.hpp>
#include <xtensor/xview.hpp>

#include <string>

using attn::Matrix;
using attn::Tensor3;
using attn::test::AreWeights;
using attn::test::IsClose;
using attn::test::NamesShapeError;
using attn::test::Reference;

namespace {
const Reference& ref() {
    return Reference::load("ch04");
}

attn::MultiHeadWeights reference_weights(const std::string& name, std::size_t n_heads,
                                         std::size_t n_kv_heads) {
    return {ref().matrix(name + ".w_q"),
            ref().matrix(name + ".w_k"),
            ref().matrix(name + ".w_v"),
            ref().matrix(name + ".w_o"),
            n_heads,
            n_kv_heads};
}
}  // namespace

TEST_CASE("split_heads and merge_heads match PyTorch's view and transpose") {
    CHECK_THAT(attn::split_heads(ref().matrix("split.x"), 3),
               IsClose(ref().tensor3("split.heads"), 0));
    CHECK_THAT(attn::merge_heads(ref().tensor3("merge.heads")),
               IsClose(ref().matrix("merge.x"), 0));
    CHECK_THAT(attn::merge_heads(attn::split_heads(ref().matrix("split.x"), 3)),
               IsClose(ref().matrix("split.x"), 0));
}

TEST_CASE("kv_head_for matches PyTorch's repeat_interleave") {
    for (const auto& [n_heads, n_kv_heads] :
         {std::pair<std::size_t, std::size_t>{8, 2}, {8, 8}, {8, 1}, {6, 3}}) {
        attn::Vector got = xt::zeros<float>({n_heads});
        for (std::size_t h = 0; h < n_heads; ++h)
            got(h) = static_cast<float>(attn::kv_head_for(h, n_heads, n_kv_heads));
        CHECK_THAT(got, IsClose(ref().vector("kv_heads." + std::to_string(n_heads) + "_" +
                                             std::to_string(n_kv_heads)),
                                0));
    }
}

TEST_CASE("multi_head_attention matches PyTorch: MHA, GQA, MQA, causal or not") {
    const Matrix x = ref().matrix("mha.x");
    struct Case {
        const char* name;
        std::size_t n_heads, n_kv_heads;
        bool causal;
    };
    for (const Case& c :
         {Case{"mha2", 2, 2, true}, Case{"mha4", 4, 4, true}, Case{"mha4_full", 4, 4, false},
          Case{"gqa4_2", 4, 2, true}, Case{"mqa4", 4, 1, true}}) {
        INFO(c.name);
        const attn::MultiHeadWeights w = reference_weights(c.name, c.n_heads, c.n_kv_heads);
        const attn::MultiHeadResult r = attn::multi_head_attention(x, w, c.causal);
        CHECK_THAT(r.output, IsClose(ref().matrix(std::string(c.name) + ".output")));
        CHECK_THAT(r.heads, IsClose(ref().matrix(std::string(c.name) + ".no_w_o")));
        CHECK_THAT(attn::multi_head_attention_batched(x, w, c.causal),
                   IsClose(ref().matrix(std::string(c.name) + ".output")));
        for (std::size_t h = 0; h < c.n_heads; ++h)
            CHECK_THAT(Matrix(xt::view(r.weights, h, xt::all(), xt::all())),
                       AreWeights<2>().with_shape_of(Matrix::from_shape({5, 5})));
    }
}

TEST_CASE("the batched form equals the loop over heads on random weights") {
    attn::Rng rng(11);
    const Matrix x = attn::random_normal(7, 12, rng);
    for (const auto& [n_heads, n_kv_heads] :
         {std::pair<std::size_t, std::size_t>{3, 3}, {6, 2}, {4, 1}}) {
        const attn::MultiHeadWeights w =
            attn::random_multi_head_weights(12, n_heads, n_kv_heads, rng);
        for (const bool causal : {false, true})
            CHECK_THAT(attn::multi_head_attention_batched(x, w, causal),
                       IsClose(attn::multi_head_attention(x, w, causal).output, 1e-6f));
    }
}

TEST_CASE("GQA is MHA whose key/value heads are copied for their group") {
    attn::Rng rng(12);
    const Matrix x = attn::random_normal(6, 8, rng);
    const attn::MultiHeadWeights gqa = attn::random_multi_head_weights(8, 4, 2, rng);
    const attn::MultiHeadWeights mha = attn::with_kv_heads_copied(gqa);
    REQUIRE(mha.n_kv_heads == 4);
    // Query heads 0 and 1 share key/value head 0: its two columns, twice.
    CHECK_THAT(
        Matrix(xt::view(mha.w_k, xt::all(), xt::range(0, 4))),
        IsClose(Matrix(xt::concatenate(xt::xtuple(xt::view(gqa.w_k, xt::all(), xt::range(0, 2)),
                                                  xt::view(gqa.w_k, xt::all(), xt::range(0, 2))),
                                       1)),
                0));
    CHECK_THAT(attn::multi_head_attention(x, gqa, true).output,
               IsClose(attn::multi_head_attention(x, mha, true).output, 1e-6f));
}

TEST_CASE(
    "attention_cost: 4 d_model^2 parameters whatever the heads; GQA keeps fewer keys and values") {
    for (std::size_t n_heads : {1, 2, 4, 8}) {
        const attn::AttentionCost c = attn::attention_cost(768, n_heads, n_heads, 1024);
        CHECK(c.parameters == 4u * 768 * 768);
        CHECK(c.flops == 8u * 1024 * 768 * 768 + 4u * 1024 * 1024 * 768);
        CHECK(c.kv_per_token == 2u * 768);
    }
    const attn::AttentionCost gqa = attn::attention_cost(4096, 32, 8, 1);
    CHECK(gqa.kv_per_token == 2u * 8 * 128);
    CHECK(gqa.parameters == 2u * 4096 * 4096 + 2u * 4096 * 1024);
}

TEST_CASE("each designed head attends where its relation points") {
    const attn::RunningExample& ex = attn::running_example();
    const attn::MultiHeadResult r =
        attn::multi_head_attention(ex.embeddings, attn::designed_heads(), false);
    const auto strongest = [&](std::size_t head, std::size_t query) {
        return ex.tokens[xt::argmax(xt::view(r.weights, head, query, xt::all()))()];
    };
    CHECK(strongest(0, 6) == "dog");     // "was" -> its subject
    CHECK(strongest(0, 3) == "cat");     // "chased" -> the animal of the relative clause
    CHECK(strongest(2, 0) == "dog");     // the first "the" -> its noun
    CHECK(strongest(2, 4) == "cat");     // the second "the" -> its noun
    CHECK(strongest(3, 1) == "was");     // "dog" -> its verb
    CHECK(strongest(3, 5) == "chased");  // "cat" -> its verb
    CHECK(attn::designed_head_relations().size() == 4);
}

TEST_CASE("chapter 04 functions reject bad input, naming the function the caller called") {
    const Matrix x = Matrix::from_shape({3, 8});
    CHECK_THROWS_MATCHES(attn::head_size(8, 3), std::invalid_argument,
                         NamesShapeError("attn::head_size", "n_heads = 3"));
    CHECK_THROWS_MATCHES(attn::split_heads(x, 3), std::invalid_argument,
                         NamesShapeError("attn::split_heads", "n_heads = 3"));
    CHECK_THROWS_MATCHES(attn::split_heads(x, 0), std::invalid_argument,
                         NamesShapeError("attn::split_heads", "got 0"));
    CHECK_THROWS_MATCHES(attn::merge_heads(Tensor3::from_shape({2, 0, 4})), std::invalid_argument,
                         NamesShapeError("attn::merge_heads", "[2, 0, 4]"));
    CHECK_THROWS_MATCHES(attn::kv_head_for(0, 8, 3), std::invalid_argument,
                         NamesShapeError("attn::kv_head_for", "n_kv_heads = 3"));
    CHECK_THROWS_MATCHES(attn::kv_head_for(8, 8, 2), std::invalid_argument,
                         NamesShapeError("attn::kv_head_for", "head = 8"));

    attn::Rng rng(1);
    attn::MultiHeadWeights w = attn::random_multi_head_weights(8, 4, 2, rng);
    CHECK_THROWS_MATCHES(attn::multi_head_attention(Matrix::from_shape({0, 8}), w, true),
                         std::invalid_argument,
                         NamesShapeError("attn::multi_head_attention:", "[0, 8]"));
    CHECK_THROWS_MATCHES(attn::multi_head_attention(Matrix::from_shape({3, 12}), w, true),
                         std::invalid_argument,
                         NamesShapeError("attn::multi_head_attention:", "[8, 8]"));
    w.n_kv_heads = 3;
    CHECK_THROWS_MATCHES(attn::multi_head_attention_batched(x, w, true), std::invalid_argument,
                         NamesShapeError("attn::multi_head_attention_batched:", "n_kv_heads = 3"));
    w.n_kv_heads = 2;
    w.w_v = Matrix::from_shape({8, 8});
    CHECK_THROWS_MATCHES(attn::multi_head_attention(x, w, false), std::invalid_argument,
                         NamesShapeError("attn::multi_head_attention:", "w_v"));
    w.n_heads = 3;
    CHECK_THROWS_MATCHES(attn::multi_head_attention(x, w, false), std::invalid_argument,
                         NamesShapeError("attn::multi_head_attention:", "n_heads = 3"));
    CHECK_THROWS_MATCHES(attn::random_multi_head_weights(8, 4, 3, rng), std::invalid_argument,
                         NamesShapeError("attn::random_multi_head_weights", "n_kv_heads = 3"));
    CHECK_THROWS_MATCHES(attn::with_kv_heads_copied(w), std::invalid_argument,
                         NamesShapeError("attn::with_kv_heads_copied", "n_heads = 3"));
    CHECK_THROWS_MATCHES(attn::attention_cost(10, 4, 4, 1), std::invalid_argument,
                         NamesShapeError("attn::attention_cost", "n_heads = 4"));
}

TEST_CASE("project with a bias: every row x W + b, and x W without one") {
    attn::Rng rng(21);
    const Matrix x = attn::random_normal(5, 3, rng), w = attn::random_normal(3, 4, rng);
    const attn::Vector b = attn::random_normal(4, rng);
    Matrix expected = xt::zeros<float>({5, 4});
    for (std::size_t t = 0; t < 5; ++t)
        for (std::size_t o = 0; o < 4; ++o) {
            expected(t, o) = b(o);
            for (std::size_t i = 0; i < 3; ++i) expected(t, o) += x(t, i) * w(i, o);
        }
    CHECK_THAT(attn::project(x, w, b), IsClose(expected, 1e-5f));
    const Matrix one = xt::view(x, xt::range(0, 1), xt::all());  // one row: the sgemv path
    CHECK_THAT(attn::project(one, w, b),
               IsClose(Matrix(xt::view(expected, xt::range(0, 1), xt::all())), 1e-5f));
    CHECK_THAT(attn::project(x, w, attn::Vector{}),
               IsClose(Matrix(expected - xt::view(b, xt::newaxis(), xt::all())), 1e-5f));
    CHECK_THROWS_WITH(
        attn::project(x, w, attn::Vector(xt::ones<float>({3}))),
        Catch::Matchers::Contains("attn::project") && Catch::Matchers::Contains("'b'"));
    CHECK_THROWS_WITH(
        attn::project(x, attn::random_normal(4, 4, rng), b),
        Catch::Matchers::Contains("attn::project") && Catch::Matchers::Contains("'w'"));
}

TEST_CASE("attend_heads checks the queries itself") {
    const Tensor3 q = xt::ones<float>({3, 2, 4}), k = xt::ones<float>({2, 2, 4});
    const attn::Mask all = xt::ones<bool>({2, 2});
    // 3 query heads cannot share 2 key/value heads: said by attend_heads, not kv_head_for.
    CHECK_THROWS_MATCHES(attn::attend_heads(q, k, k, all), std::invalid_argument,
                         NamesShapeError("attn::attend_heads", "n_heads = 3"));
    const Tensor3 empty_q = xt::ones<float>({1, 2, 0}), empty_k = xt::ones<float>({1, 2, 0});
    CHECK_THROWS_MATCHES(attn::attend_heads(empty_q, empty_k, empty_k, all), std::invalid_argument,
                         NamesShapeError("attn::attend_heads", "[1, 2, 0]"));
}
