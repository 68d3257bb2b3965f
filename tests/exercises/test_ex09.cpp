// Tests for the chapter 09 exercises; the tag ([9.1]) is the exercise's number.
//
// Expected values: the worked examples of exercises.hpp (by hand) and
// tests/reference/ch09.txt, PyTorch's autograd and optimisers in float64 (see generate.py),
// which also holds the answers of the known mistakes, each computed from its own formula
// there (or, for weight decay as L2, by PyTorch's Adam).
#include "exercises.hpp"

#include "matchers.hpp"
#include "reference.hpp"
#include "unchanged.hpp"

#include <xtensor/xbuilder.hpp>
#include <xtensor/xview.hpp>

#include <cmath>
#include <limits>
#include <string>
#include <vector>

using attn::Matrix;
using attn::Vector;
using attn::test::IsClose;
using attn::test::Reference;
// The exercises as the tests call them (ex::name): each call fails the test when the answer
// changes an argument it takes by const reference (tests/support/unchanged.hpp).
namespace ex {
using namespace attn::ex09;  // the exercises' types
using attn::test::KeepsInputs;
constexpr KeepsInputs<&attn::ex09::softmax_backward> softmax_backward{"softmax_backward", "p",
                                                                      "dp"};
constexpr KeepsInputs<&attn::ex09::layer_norm_backward> layer_norm_backward{
    "layer_norm_backward", "x", "gain", "dy", "eps"};
constexpr KeepsInputs<&attn::ex09::cross_entropy_backward> cross_entropy_backward{
    "cross_entropy_backward", "logits", "targets"};
constexpr KeepsInputs<&attn::ex09::adamw_step> checked_adamw_step{
    "adamw_step", "weights", "grads", "state", "learning_rate", "decays", "settings"};
// settings has a default argument, which a pointer to the function does not carry.
inline void adamw_step(std::vector<float>& weights, const std::vector<float>& grads,
                       AdamState& state, float learning_rate, bool decays,
                       const AdamSettings& settings = {}, const char* file = __builtin_FILE(),
                       int line = __builtin_LINE()) {
    checked_adamw_step(weights, grads, state, learning_rate, decays, settings, file, line);
}
}  // namespace ex

namespace {
const Reference& ref() {
    return Reference::load("ch09");
}

// std::invalid_argument whose message contains a fragment (a stub's not_implemented is
// another type, so a stub shows as not started, not as a wrong error).
class Refused : public Catch::MatcherBase<std::invalid_argument> {
public:
    explicit Refused(std::vector<std::string> fragments) : fragments_(std::move(fragments)) {}
    explicit Refused(std::string fragment) : fragments_{std::move(fragment)} {}
    bool match(const std::invalid_argument& e) const override {
        for (const std::string& f : fragments_)
            if (std::string(e.what()).find(f) == std::string::npos) return false;
        return true;
    }
    std::string describe() const override {
        std::string names;
        for (const std::string& f : fragments_) names += (names.empty() ? "" : ", ") + f;
        return "is std::invalid_argument naming " + names;
    }

private:
    std::vector<std::string> fragments_;
};

std::vector<std::size_t> ids(const Vector& v) {
    return {v.begin(), v.end()};
}

Vector as_vector(const std::vector<float>& v) {
    Vector out = xt::zeros<float>({v.size()});
    for (std::size_t i = 0; i < v.size(); ++i) out(i) = v[i];
    return out;
}

std::vector<float> as_numbers(const Vector& v) {
    return {v.begin(), v.end()};
}
}  // namespace

// ---------------------------------------------------------------- 9.1 softmax_backward

TEST_CASE("9.1 softmax_backward: the worked example", "[9.1]") {
    CHECK_THAT(ex::softmax_backward(Matrix{{0.5f, 0.5f}}, Matrix{{1, 0}}),
               IsClose(Matrix{{0.25f, -0.25f}}, 1e-6f)
                   .or_mistake(Matrix{{0.5f, 0.0f}},
                               "dS = P * dP: the row sum's term, - P * rowsum(dP * P), is missing")
                   .or_mistake(Matrix{{0.25f, 0.0f}},
                               "only the diagonal of the Jacobian, dP * P (1 - P): each weight "
                               "depends on every score of its row"));
}

TEST_CASE("9.1 softmax_backward: PyTorch's autograd on a 4 x 6 softmax", "[9.1]") {
    const Matrix p = ref().matrix("softmax.p"), dp = ref().matrix("softmax.dp");
    CHECK_THAT(ex::softmax_backward(p, dp),
               IsClose(ref().matrix("softmax.ds"), 1e-5f)
                   .or_mistake(ref().matrix("softmax.ds_no_rowsum"),
                               "dS = P * dP: subtract each row's sum of dP * P from dP first")
                   .or_mistake(ref().matrix("softmax.ds_diagonal"),
                               "dS = dP * P (1 - P), the Jacobian's diagonal only: each weight "
                               "depends on every score of its row, so the sum over the row "
                               "belongs in it")
                   .or_mistake(ref().matrix("softmax.ds_column_sums"),
                               "the sum of dP * P over a column: sum over the row (the keys)")
                   .or_mistake(ref().matrix("softmax.ds_sign"),
                               "the sign is reversed: P * (dP - rowsum(dP * P))")
                   .or_mistake_if_not_finite("NaN or inf: P and dP are finite, so is dS"));
}

TEST_CASE("9.1 softmax_backward: each row of dS sums to 0; a weight of 0 gets 0", "[9.1]") {
    const Matrix p{{0.2f, 0.0f, 0.8f}, {1.0f, 0.0f, 0.0f}};
    const Matrix dp{{3.0f, 5.0f, -1.0f}, {2.0f, 7.0f, 1.0f}};
    const Matrix ds = ex::softmax_backward(p, dp);
    REQUIRE(ds.shape(0) == 2);
    for (std::size_t i = 0; i < 2; ++i) CHECK(std::abs(xt::sum(xt::row(ds, i))()) < 1e-6f);
    INFO("a masked key (weight 0) took no part in the softmax: its score's gradient is 0");
    CHECK(ds(0, 1) == 0.0f);
    CHECK_THAT(ds, IsClose(Matrix{{0.64f, 0.0f, -0.64f}, {0.0f, 0.0f, 0.0f}}, 1e-6f));
}

TEST_CASE("9.1 softmax_backward: dP of another shape is refused", "[9.1]") {
    CHECK_SHAPE_ERROR(ex::softmax_backward(Matrix(xt::ones<float>({2, 3})) / 3.0f,
                                           Matrix(xt::ones<float>({3, 2}))),
                      "softmax_backward", "[3, 2]", "dP must have P's shape");
    CHECK_SHAPE_ERROR(ex::softmax_backward(Matrix(xt::ones<float>({2, 3})) / 3.0f,
                                           Matrix(xt::ones<float>({2, 2}))),
                      "softmax_backward", "[2, 2]", "dP has P's rows but not its 3 columns");
}

// ---------------------------------------------------------------- 9.2 layer_norm_backward

TEST_CASE("9.2 layer_norm_backward: PyTorch's autograd on 4 rows of 8", "[9.2]") {
    const Matrix x = ref().matrix("ln.x"), dy = ref().matrix("ln.dy");
    const Vector gain = ref().vector("ln.gain");
    const ex::LayerNormGradients g = ex::layer_norm_backward(x, gain, dy, 1e-5f);
    CHECK_THAT(g.dx,
               IsClose(ref().matrix("ln.dx"), 1e-4f)
                   .or_mistake(ref().matrix("ln.dx_no_means"),
                               "dx = dy * gain / sigma: both mean terms are missing, the "
                               "gradient through the mean and through sigma")
                   .or_mistake(ref().matrix("ln.dx_no_xhat_term"),
                               "the term - xhat * mean(u * xhat) is missing: the gradient "
                               "through sigma")
                   .or_mistake(ref().matrix("ln.dx_no_mean_term"),
                               "the term - mean(u) is missing: the gradient through the mean")
                   .or_mistake(ref().matrix("ln.dx_no_gain"), "the gain is missing: u = dy * gain")
                   .or_mistake(ref().matrix("ln.dx_unbiased"),
                               "the variance divided by d - 1: layer norm divides by d")
                   .or_mistake_if_not_finite("NaN or inf: sigma = sqrt(var + eps) is above 0"));
    CHECK_THAT(g.dgain, IsClose(ref().vector("ln.dgain"), 1e-4f)
                            .or_mistake(ref().vector("ln.dgain_not_summed"),
                                        "dgain of the first row only: sum dy * xhat over all "
                                        "the rows"));
    CHECK_THAT(g.dbias, IsClose(ref().vector("ln.dbias"), 1e-5f));
}

TEST_CASE("9.2 layer_norm_backward: a dy equal across a row gives dx = 0", "[9.2]") {
    const Matrix x = ref().matrix("ln.x");
    const Matrix dy = xt::ones<float>(x.shape()) * 2.5f;
    const Vector gain = xt::ones<float>({x.shape(1)});
    INFO("adding one number to every feature of y is the bias's work: x gets no gradient");
    CHECK_THAT(ex::layer_norm_backward(x, gain, dy, 1e-5f).dx,
               IsClose(Matrix(xt::zeros<float>(x.shape())), 1e-5f));
}

TEST_CASE("9.2 layer_norm_backward: a gain or dy that does not fit x is refused", "[9.2]") {
    const Matrix x = ref().matrix("ln.x");
    CHECK_SHAPE_ERROR(ex::layer_norm_backward(x, Vector(xt::ones<float>({5})), x, 1e-5f),
                      "layer_norm_backward", "[5]", "the gain has one number per feature (8)");
    CHECK_SHAPE_ERROR(
        ex::layer_norm_backward(x, ref().vector("ln.gain"), Matrix(xt::ones<float>({3, 8})), 1e-5f),
        "layer_norm_backward", "[3, 8]", "dy must have x's shape [4, 8]");
}

// ---------------------------------------------------------------- 9.3 cross_entropy_backward

TEST_CASE("9.3 cross_entropy_backward: the worked example", "[9.3]") {
    CHECK_THAT(ex::cross_entropy_backward(Matrix{{0, 0}}, {1}),
               IsClose(Matrix{{0.5f, -0.5f}}, 1e-6f)
                   .or_mistake(Matrix{{-0.5f, 0.5f}}, "the sign is reversed: softmax - onehot")
                   .or_mistake(Matrix{{0.5f, 0.5f}},
                               "the one-hot is missing: subtract 1 at "
                               "the target"));
}

TEST_CASE("9.3 cross_entropy_backward: PyTorch's F.cross_entropy on 5 rows of 7", "[9.3]") {
    const Matrix z = ref().matrix("ce.logits");
    CHECK_THAT(ex::cross_entropy_backward(z, ids(ref().vector("ce.targets"))),
               IsClose(ref().matrix("ce.dlogits"), 1e-6f)
                   .or_mistake(ref().matrix("ce.dlogits_no_mean"),
                               "no 1/N: the loss is the mean over the N positions, so is its "
                               "gradient")
                   .or_mistake(ref().matrix("ce.dlogits_sign"),
                               "the sign is reversed: (softmax - onehot) / N")
                   .or_mistake(ref().matrix("ce.dlogits_no_onehot"),
                               "the one-hot is missing: subtract 1 at each row's target")
                   .or_mistake(ref().matrix("ce.dlogits_vocab_mean"),
                               "divided by the vocabulary size: divide by N, the rows")
                   .or_mistake_if_not_finite(
                       "NaN or inf: logits of 9 overflow nothing in float, but subtract each "
                       "row's maximum before exp"));
}

TEST_CASE("9.3 cross_entropy_backward: large logits stay finite", "[9.3]") {
    const Matrix z{{1000.0f, 0.0f}, {0.0f, -1000.0f}};
    CHECK_THAT(ex::cross_entropy_backward(z, {0, 1}),
               IsClose(Matrix{{0.0f, 0.0f}, {0.5f, -0.5f}}, 1e-6f)
                   .or_mistake_if_not_finite("exp(1000) overflows: subtract each row's maximum "
                                             "before exp (attn::softmax_rows does)"));
}

TEST_CASE("9.3 cross_entropy_backward: targets that do not fit are refused", "[9.3]") {
    const Matrix z = ref().matrix("ce.logits");
    CHECK_THROWS_MATCHES(ex::cross_entropy_backward(z, {1, 2}), std::invalid_argument,
                         Refused("cross_entropy_backward"));
    INFO("2 targets for 5 rows: the message names both numbers");
    CHECK_THROWS_MATCHES(ex::cross_entropy_backward(z, {1, 2}), std::invalid_argument,
                         Refused(std::vector<std::string>{"2", "5"}));
    INFO("6 targets for 5 rows are as wrong as 2");
    CHECK_THROWS_MATCHES(ex::cross_entropy_backward(z, {1, 2, 3, 4, 5, 6}), std::invalid_argument,
                         Refused(std::vector<std::string>{"6", "5"}));
    INFO("target 2 is 7, outside a vocabulary of 7: the message names the value");
    CHECK_THROWS_MATCHES(ex::cross_entropy_backward(z, {1, 2, 7, 0, 0}), std::invalid_argument,
                         Refused(std::vector<std::string>{"cross_entropy_backward", "7"}));
}

// ---------------------------------------------------------------- 9.4 adamw_step

namespace {
// Three steps with the reference gradients; the weights after each.
std::vector<Vector> three_steps(bool decays) {
    std::vector<float> w = as_numbers(ref().vector("adam.w"));
    ex::AdamState state;
    std::vector<Vector> out;
    for (int i = 0; i < 3; ++i) {
        ex::adamw_step(w, as_numbers(ref().vector("adam.g" + std::to_string(i))), state, 1e-2f,
                       decays);
        out.push_back(as_vector(w));
    }
    return out;
}
}  // namespace

TEST_CASE("9.4 adamw_step: the worked example", "[9.4]") {
    std::vector<float> w{1.0f};
    ex::AdamState state;
    ex::adamw_step(w, {0.5f}, state, 0.01f, false);
    INFO(
        "the first step moves a weight by lr, whatever its gradient: m-hat / sqrt(v-hat) = "
        "g / |g| = 1");
    CHECK_THAT(as_vector(w), IsClose(Vector{0.99f}, 1e-6f));
    CHECK(state.step == 1);
    REQUIRE(state.m.size() == 1);
    CHECK(std::abs(state.m[0] - 0.05f) < 1e-7f);
    CHECK(std::abs(state.v[0] - 0.0025f) < 1e-8f);
    std::vector<float> d{1.0f};
    ex::AdamState s2;
    ex::adamw_step(d, {0.5f}, s2, 0.01f, true);
    CHECK_THAT(as_vector(d), IsClose(Vector{0.989f}, 1e-6f)
                                 .or_mistake(Vector{0.99f},
                                             "no decay on a tensor with decays true: shrink the "
                                             "weight by lr * weight_decay * w, outside m and v "
                                             "(added to the gradient, as Adam's L2 does, the "
                                             "decay vanishes in m-hat / sqrt(v-hat))"));
}

TEST_CASE("9.4 adamw_step: three steps equal PyTorch's AdamW, with weight decay", "[9.4]") {
    const std::vector<Vector> got = three_steps(true);
    for (int i = 0; i < 3; ++i) {
        INFO("after step " << i + 1);
        const std::string n = std::to_string(i);
        CHECK_THAT(got[i],
                   IsClose(ref().vector("adam.decay" + n), 1e-6f)
                       .or_mistake(ref().vector("adam.no_correction" + n),
                                   "no bias correction: divide m by 1 - beta1^t and v by "
                                   "1 - beta2^t, t the step count from 1")
                       .or_mistake(ref().vector("adam.l2_" + n),
                                   "the decay added to the gradient (Adam's L2): AdamW's decay is "
                                   "decoupled, w -= lr * weight_decay * w, outside m and v")
                       .or_mistake(ref().vector("adam.no_decay" + n),
                                   "no weight decay: decays is true for this tensor")
                       .or_mistake_if_not_finite("NaN or inf: the root of v + epsilon is above 0"));
    }
}

TEST_CASE("9.4 adamw_step: three steps equal PyTorch's AdamW, no decay for a gain", "[9.4]") {
    const std::vector<Vector> got = three_steps(false);
    for (int i = 0; i < 3; ++i) {
        INFO("after step " << i + 1);
        const std::string n = std::to_string(i);
        CHECK_THAT(got[i], IsClose(ref().vector("adam.no_decay" + n), 1e-6f)
                               .or_mistake(ref().vector("adam.decay" + n),
                                           "weight decay on a tensor with decays false (a gain, "
                                           "a bias or an embedding): decay only when decays"));
    }
}

TEST_CASE("9.4 adamw_step: bad sizes or learning rates are refused, nothing changed", "[9.4]") {
    std::vector<float> w{1.0f, 2.0f};
    ex::AdamState state;
    CHECK_THROWS_MATCHES(ex::adamw_step(w, {0.5f}, state, 0.01f, true), std::invalid_argument,
                         Refused("adamw_step"));
    INFO("1 gradient for 2 weights: the message names both sizes");
    CHECK_THROWS_MATCHES(ex::adamw_step(w, {0.5f}, state, 0.01f, true), std::invalid_argument,
                         Refused(std::vector<std::string>{"1", "2"}));
    CHECK_THROWS_MATCHES(ex::adamw_step(w, {0.5f, 0.5f}, state, 0.0f, true), std::invalid_argument,
                         Refused("adamw_step"));
    CHECK_THROWS_MATCHES(
        ex::adamw_step(w, {0.5f, 0.5f}, state, std::numeric_limits<float>::quiet_NaN(), true),
        std::invalid_argument, Refused("adamw_step"));
    CHECK_THROWS_MATCHES(
        ex::adamw_step(w, {0.5f, 0.5f}, state, std::numeric_limits<float>::infinity(), true),
        std::invalid_argument, Refused("adamw_step"));
    state.m = {0.0f, 0.0f, 0.0f};
    CHECK_THROWS_MATCHES(ex::adamw_step(w, {0.5f, 0.5f}, state, 0.01f, true), std::invalid_argument,
                         Refused("adamw_step"));
    INFO("a refused step changes neither the weights nor the step count");
    CHECK(w == std::vector<float>{1.0f, 2.0f});
    CHECK(state.step == 0);
}
