// Chapter 07's own code: the online softmax and its merge, fast_exp's accuracy, the
// vectorised softmax loops equal to the plain ones (-inf and NaN included), and tiled
// attention equal to chapter 03's masked attention (itself checked against PyTorch), causal
// or not, for lengths that are not a multiple of the block size, with fully masked rows and
// logits of +-1e4; rejected input.
#include "chapters/07_fast_attention/fast_attention.hpp"

#include "chapters/01_single_head_attention/single_head_attention.hpp"
#include "chapters/03_causal_masking/causal_masking.hpp"
#include "common/random.hpp"
#include "matchers.hpp"

#include <xtensor/xbuilder.hpp>
#include <xtensor/xview.hpp>

#include <cmath>
#include <string_view>
#include <vector>

using attn::Mask;
using attn::Matrix;
using attn::Vector;
using attn::test::IsClose;
using attn::test::NamesShapeError;

TEST_CASE("the online softmax equals the softmax, and two partial states merge exactly") {
    attn::Rng rng(1);
    const Vector x = attn::random_normal(50, rng, 30.0f);
    CHECK_THAT(attn::online_softmax(x), IsClose(attn::softmax(x)));
    const attn::SoftmaxState whole = attn::softmax_state(x);
    const attn::SoftmaxState merged =
        attn::merge_states(attn::softmax_state(xt::view(x, xt::range(0, 17))),
                           attn::softmax_state(xt::view(x, xt::range(17, 50))));
    CHECK(merged.max == whole.max);
    CHECK(std::fabs(merged.sum - whole.sum) <= 1e-5f * whole.sum);
    const attn::SoftmaxState empty = attn::softmax_state(Vector::from_shape({0}));
    CHECK(std::isinf(empty.max));
    CHECK(attn::merge_states(empty, whole).sum == whole.sum);
}

TEST_CASE("fast_exp has float precision, and is exactly 0 for -inf") {
    float worst = 0.0f;
    for (float x = -80.0f; x <= 80.0f; x += 0.01f)
        worst = std::max(worst, std::fabs(attn::fast_exp(x) - std::exp(x)) / std::exp(x));
    CHECK(worst < 1e-6f);
    CHECK(attn::fast_exp(-std::numeric_limits<float>::infinity()) == 0.0f);
    CHECK(attn::fast_exp(-100.0f) == 0.0f);
}

TEST_CASE("the vectorised maximum and exponentials equal the plain loops, -inf and NaN included") {
    const float inf = std::numeric_limits<float>::infinity();
    const float nan = std::numeric_limits<float>::quiet_NaN();
    attn::Rng rng(5);
    // Lengths around the 16 lanes: none, fewer, exactly, one more, many with a remainder.
    for (std::size_t n : {0, 1, 15, 16, 17, 100, 300}) {
        const Vector scores = n == 0 ? Vector::from_shape({0}) : attn::random_normal(n, rng, 5.0f);
        for (std::string_view row : {"numbers", "every third -inf", "all -inf", "one NaN"}) {
            std::vector<float> s(scores.begin(), scores.end());
            for (std::size_t j = 0; j < n; ++j) {
                if (row == "every third -inf" && j % 3 == 0) s[j] = -inf;
                if (row == "all -inf") s[j] = -inf;
                if (row == "one NaN" && j == n / 2) s[j] = nan;
            }
            INFO("n = " << n << ", " << row);
            const float m = attn::row_maximum(s.data(), n);
            CHECK(m == attn::plain_row_maximum(s.data(), n));  // both skip a NaN
            if (m == -inf) continue;  // no row to exponentiate against its maximum
            std::vector<float> vectorised = s, plain = s;
            const float sum = attn::exp_row(vectorised.data(), n, m);
            const float plain_sum = attn::plain_exp_row(plain.data(), n, m);
            for (std::size_t j = 0; j < n; ++j) {
                INFO("score " << j << " = " << s[j]);
                CHECK(std::isnan(vectorised[j]) == std::isnan(plain[j]));
                if (!std::isnan(plain[j])) CHECK(std::fabs(vectorised[j] - plain[j]) <= 1e-6f);
                if (s[j] == -inf) CHECK(vectorised[j] == 0.0f);
            }
            CHECK(std::isnan(sum) == (row == "one NaN"));
            if (!std::isnan(plain_sum)) CHECK(std::fabs(sum - plain_sum) <= 1e-5f * plain_sum);
        }
    }
    std::vector<float> a{1.0f, -2.0f, 0.5f};
    attn::scale_row(a.data(), a.size(), 0.5f);
    CHECK(a == std::vector<float>{0.5f, -1.0f, 0.25f});
}

TEST_CASE("tiled attention equals masked attention, causal or not, for any length") {
    attn::Rng rng(2);
    for (std::size_t T : {1, 37, 128, 300}) {
        const Matrix q = attn::random_normal(T, 16, rng), k = attn::random_normal(T, 16, rng),
                     v = attn::random_normal(T, 8, rng);
        INFO("T = " << T);
        const Mask all = xt::ones<bool>({T, T});
        CHECK_THAT(attn::tiled_attention(q, k, v, false, nullptr, {64, 48}),
                   IsClose(attn::masked_attention(q, k, v, all).output));
        CHECK_THAT(attn::tiled_attention(q, k, v, true, nullptr, {64, 48}),
                   IsClose(attn::masked_attention(q, k, v, attn::causal_mask(T)).output));
    }
}

TEST_CASE("tiled attention: fully masked rows give zeros, logits of +-1e4 stay finite") {
    attn::Rng rng(3);
    const Matrix q = attn::random_normal(20, 8, rng, 40.0f),
                 k = attn::random_normal(20, 8, rng, 40.0f);
    const Matrix v = attn::random_normal(20, 4, rng);  // scores of size ~ 1e4
    Mask allowed = attn::sliding_window_mask(20, 5);
    xt::view(allowed, 3, xt::all()) = false;  // query 3 sees nothing
    const Matrix tiled = attn::tiled_attention(q, k, v, false, &allowed, {8, 8});
    CHECK_THAT(
        tiled,
        IsClose(attn::masked_attention(q, k, v, allowed).output).or_mistake_if_not_finite("NaN"));
    CHECK_THAT(Matrix(xt::view(tiled, xt::range(3, 4), xt::all())),
               IsClose(Matrix(xt::zeros<float>({1, 4})), 0));
}

TEST_CASE("the workspace does not grow with T") {
    CHECK(attn::tiled_attention_workspace_bytes(64, {128, 128}) ==
          (128u * 128 + 128 * 64 + 2 * 128) * 4);
}

TEST_CASE("tiled attention rejects shapes that do not fit") {
    const Matrix q = Matrix::from_shape({4, 8});
    CHECK_THROWS_MATCHES(
        attn::tiled_attention(q, Matrix::from_shape({4, 6}), Matrix::from_shape({4, 2}), true),
        std::invalid_argument, NamesShapeError("attn::tiled_attention", "[4, 6]"));
    CHECK_THROWS_MATCHES(attn::tiled_attention(q, q, Matrix::from_shape({3, 2}), true),
                         std::invalid_argument, NamesShapeError("attn::tiled_attention", "[3, 2]"));
    CHECK_THROWS_MATCHES(attn::tiled_attention(q, q, q, true, nullptr, {0, 8}),
                         std::invalid_argument, NamesShapeError("attn::tiled_attention", "0"));
    CHECK_THROWS_MATCHES(attn::online_softmax(Vector::from_shape({0})), std::invalid_argument,
                         NamesShapeError("attn::online_softmax", "[0]"));
}

TEST_CASE("the online softmax gives what chapter 01's softmax gives for +inf, -inf and NaN") {
    const float inf = std::numeric_limits<float>::infinity();
    const float nan = std::numeric_limits<float>::quiet_NaN();
    // NaN shown as -1000 (no weight is negative), so that IsClose compares where NaN is.
    const auto nan_shown = [](const Vector& w) {
        return Vector(xt::where(xt::isnan(w), -1000.0f, w));
    };
    for (const Vector& x : {Vector{inf, 1}, Vector{1, inf}, Vector{inf, inf}, Vector{inf, -inf},
                            Vector{-inf, -inf, -inf}, Vector{-inf, 2, -inf}, Vector{nan, 1},
                            Vector{1, nan}, Vector{nan, nan}, Vector{nan, -inf}}) {
        INFO("logits " << attn::test::tensor_text(x));
        CHECK_THAT(nan_shown(attn::online_softmax(x)), IsClose(nan_shown(attn::softmax(x))));
    }
    // e^(inf - inf) is NaN, so the state of a row with +inf has no finite sum; a NaN sum
    // stays NaN through a merge, even with an empty state.
    CHECK(std::isnan(attn::softmax_state(Vector{inf, 1}).sum));
    CHECK(std::isnan(
        attn::merge_states(attn::softmax_state(Vector{nan}), attn::softmax_state(Vector{-inf}))
            .sum));
    CHECK(std::isnan(attn::merge_states(attn::softmax_state(Vector{1, nan}), {2, 1}).sum));
}

TEST_CASE("tiled attention gives NaN where masked attention does: a NaN query, a NaN key") {
    const float nan = std::numeric_limits<float>::quiet_NaN();
    attn::Rng rng(4);
    const std::size_t T = 10;
    const Matrix q = attn::random_normal(T, 8, rng), k = attn::random_normal(T, 8, rng),
                 v = attn::random_normal(T, 4, rng);
    Matrix nan_query = q, nan_key = k;
    nan_query(3, 5) = nan;  // every score of query 3 is NaN
    nan_key(0, 2) = nan;    // every query's score for key 0 is NaN; causal query 0 sees only it
    // NaN shown as -1000 (the outputs are averages of values of size ~1), so that IsClose
    // compares where NaN is.
    const auto nan_shown = [](const Matrix& m) {
        return Matrix(xt::where(xt::isnan(m), -1000.0f, m));
    };
    for (bool causal : {false, true}) {
        const Mask allowed = causal ? attn::causal_mask(T) : Mask(xt::ones<bool>({T, T}));
        INFO("causal: " << causal);
        CHECK_THAT(nan_shown(attn::tiled_attention(nan_query, k, v, causal, nullptr, {4, 4})),
                   IsClose(nan_shown(attn::masked_attention(nan_query, k, v, allowed).output)));
        CHECK_THAT(nan_shown(attn::tiled_attention(q, nan_key, v, causal, nullptr, {4, 4})),
                   IsClose(nan_shown(attn::masked_attention(q, nan_key, v, allowed).output)));
    }
    // A NaN score beside numbers stays NaN through the exponential.
    CHECK(std::isnan(attn::fast_exp(nan)));
    // Behind the mask a NaN score is not seen, as in masked attention: each query seeing only
    // its own key, only query 0 (key 0 is NaN) gets NaN.
    Mask own = xt::zeros<bool>({T, T});
    for (std::size_t i = 0; i < T; ++i) own(i, i) = true;
    CHECK_THAT(nan_shown(attn::tiled_attention(q, nan_key, v, false, &own, {4, 4})),
               IsClose(nan_shown(attn::masked_attention(q, nan_key, v, own).output)));
}

TEST_CASE("fast_exp and exp_row turn NaN into NaN without converting NaN to an integer") {
    // Converting NaN to an int is undefined behaviour: the sanitizer preset's
    // -fsanitize=float-cast-overflow stops this test if fast_exp's formula does it.
    const float nan = std::numeric_limits<float>::quiet_NaN();
    CHECK(std::isnan(attn::fast_exp(nan)));
    CHECK(std::isnan(attn::fast_exp(-nan)));
    // 37 scores, NaN in several lanes of the vector loop and in its scalar tail.
    std::vector<float> s(37), want(37);
    for (std::size_t j = 0; j < s.size(); ++j) {
        s[j] = j % 5 == 0 ? (j % 2 ? -nan : nan) : -0.25f * static_cast<float>(j);
        want[j] = std::exp(s[j]);
    }
    const float sum = attn::exp_row(s.data(), s.size(), 0.0f);
    CHECK(std::isnan(sum));
    for (std::size_t j = 0; j < s.size(); ++j) {
        INFO("score " << j);
        CHECK(std::isnan(s[j]) == std::isnan(want[j]));
        if (!std::isnan(want[j])) CHECK(std::fabs(s[j] - want[j]) <= 1e-6f * want[j]);
    }
}
