// Chapter 02's own code: properties, PyTorch reference values (tests/reference/ch02.txt,
// max abs error 1e-5), rejected input.
#include "chapters/02_self_attention/self_attention.hpp"

#include "chapters/01_single_head_attention/running_example.hpp"
#include "common/random.hpp"
#include "matchers.hpp"
#include "reference.hpp"

#include <xtensor/xsort.hpp>
#include <xtensor/xview.hpp>

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>

using attn::Matrix;
using attn::Vector;
using attn::test::AreWeights;
using attn::test::IsClose;
using attn::test::NamesShapeError;
using attn::test::Reference;

namespace {
const Reference& ref() {
    return Reference::load("ch02");
}

attn::Projections reference_projections() {
    return {ref().matrix("self_attention.w_q"), ref().matrix("self_attention.w_k"),
            ref().matrix("self_attention.w_v")};
}
}  // namespace

TEST_CASE("project and self_attention match PyTorch") {
    CHECK_THAT(attn::project(ref().matrix("project.x"), ref().matrix("project.w")),
               IsClose(ref().matrix("project.out")));
    const attn::QKV qkv =
        attn::project_qkv(ref().matrix("self_attention.x"), reference_projections());
    CHECK_THAT(qkv.q, IsClose(ref().matrix("self_attention.q")));
    CHECK_THAT(qkv.k, IsClose(ref().matrix("self_attention.k")));
    CHECK_THAT(qkv.v, IsClose(ref().matrix("self_attention.v")));
    const attn::AttentionResult r =
        attn::self_attention(ref().matrix("self_attention.x"), reference_projections());
    CHECK_THAT(r.weights, IsClose(ref().matrix("self_attention.weights")));
    CHECK_THAT(r.output, IsClose(ref().matrix("self_attention.output")));
    CHECK_THAT(r.weights, AreWeights<2>());
}

TEST_CASE("self-attention is permutation equivariant for random permutations") {
    attn::Rng rng(11);
    const Matrix x = attn::random_normal(7, 8, rng);
    const attn::Projections p = attn::random_projections(8, 4, 5, rng);
    const Matrix out = attn::self_attention(x, p).output;
    std::vector<std::size_t> order(7);
    std::iota(order.begin(), order.end(), 0);
    for (int trial = 0; trial < 5; ++trial) {
        for (std::size_t i = order.size() - 1; i > 0; --i)  // Fisher-Yates with the book's Rng
            std::swap(order[i], order[rng.next_bits() % (i + 1)]);
        CAPTURE(order);
        CHECK_THAT(attn::self_attention(attn::permute_rows(x, order), p).output,
                   IsClose(attn::permute_rows(out, order)));
    }
}

TEST_CASE("the designed head sends was and tired to dog") {
    const attn::RunningExample& ex = attn::running_example();
    const Matrix w = attn::self_attention(ex.embeddings, attn::designed_head()).weights;
    for (std::size_t query : {6, 7}) {  // was, tired
        CAPTURE(ex.tokens[query]);
        CHECK(xt::argmax(xt::row(w, query))() == 1);  // dog
    }
}

TEST_CASE("attention_entropy: PyTorch values, 0 for one key, ln T for uniform, NaN stays NaN") {
    CHECK_THAT(attn::attention_entropy(ref().matrix("entropy.weights")),
               IsClose(ref().vector("entropy.nats")));
    CHECK_THAT(attn::attention_entropy(Matrix{{0, 1, 0}, {0.25f, 0.25f, 0.5f}}),
               IsClose(Vector{0, 1.03972077f}));
    const Vector h = attn::attention_entropy(Matrix{{std::numeric_limits<float>::quiet_NaN(), 1}});
    CHECK(std::isnan(h(0)));
}

TEST_CASE("permute_rows reorders, and random projections have the requested shapes") {
    CHECK_THAT(attn::permute_rows(Matrix{{1}, {2}, {3}}, {1, 2, 0}),
               IsClose(Matrix{{2}, {3}, {1}}));
    attn::Rng rng(5);
    const attn::Projections p = attn::random_projections(6, 3, 2, rng);
    CHECK(attn::test::shape_text(p.w_q) == "[6, 3]");
    CHECK(attn::test::shape_text(p.w_k) == "[6, 3]");
    CHECK(attn::test::shape_text(p.w_v) == "[6, 2]");
}

TEST_CASE("chapter 02 functions reject bad input, naming function, argument and shapes") {
    const Matrix x = Matrix::from_shape({3, 4});
    CHECK_THROWS_MATCHES(attn::project(x, Matrix::from_shape({5, 2})), std::invalid_argument,
                         NamesShapeError("attn::project", "[5, 2]"));
    attn::Projections p{Matrix::from_shape({4, 2}), Matrix::from_shape({4, 3}),
                        Matrix::from_shape({4, 2})};
    CHECK_THROWS_MATCHES(attn::project_qkv(x, p), std::invalid_argument,
                         NamesShapeError("attn::project_qkv", "[4, 3]"));
    p.w_k = Matrix::from_shape({4, 2});
    p.w_v = Matrix::from_shape({3, 2});
    CHECK_THROWS_MATCHES(attn::self_attention(x, p), std::invalid_argument,
                         NamesShapeError("attn::self_attention:", "[3, 2]"));
    CHECK_THROWS_MATCHES(attn::permute_rows(x, {0, 1}), std::invalid_argument,
                         NamesShapeError("attn::permute_rows", "2"));
    CHECK_THROWS_MATCHES(attn::permute_rows(x, {0, 0, 1}), std::invalid_argument,
                         NamesShapeError("attn::permute_rows", "twice"));
    CHECK_THROWS_MATCHES(attn::permute_rows(x, {0, 1, 7}), std::invalid_argument,
                         NamesShapeError("attn::permute_rows", "out of range"));
    CHECK_THROWS_MATCHES(attn::attention_entropy(Matrix::from_shape({2, 0})), std::invalid_argument,
                         NamesShapeError("attn::attention_entropy", "[2, 0]"));
    attn::Rng rng(1);
    CHECK_THROWS_MATCHES(attn::random_projections(4, 0, 2, rng), std::invalid_argument,
                         NamesShapeError("attn::random_projections", "d_k = 0"));
}
