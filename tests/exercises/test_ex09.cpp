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
#include <stdexcept>
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

namespace {
constexpr const char* ds_no_rowsum =
    "dS = P * dP: the row sum's term is missing, dS = P * (dP - rowsum(dP * P))";
constexpr const char* ds_diagonal =
    "only the Jacobian's diagonal, dS = dP * P (1 - P): each weight depends on every score of "
    "its row, so the sum over the row belongs in it";
constexpr const char* ds_column_sums =
    "the sum of dP * P over a column: sum over the row (the keys), one number per query";
constexpr const char* ds_sign = "the sign is reversed: dS = P * (dP - rowsum(dP * P))";
constexpr const char* ds_sum_without_p =
    "the row sum without P, rowsum(dP): it is the sum of dP * P over the row";

// The known mistakes of 9.1 as formulas: dS_ij = P_ij (dP_ij - s), with the wrong s.
enum class RowSum { none, diagonal, column, sign, without_p };

template <RowSum how>
Matrix softmax_backward_with(const Matrix& p, const Matrix& dp) {
    if (p.size() == 0 || dp.shape() != p.shape()) throw std::invalid_argument("refused");
    Matrix out = xt::zeros<float>(p.shape());
    for (std::size_t i = 0; i < p.shape(0); ++i)
        for (std::size_t j = 0; j < p.shape(1); ++j) {
            double s = 0.0;
            for (std::size_t k = 0; k < p.shape(1); ++k)
                s += how == RowSum::without_p ? double(dp(i, k)) : double(dp(i, k)) * p(i, k);
            if (how == RowSum::column) {
                s = 0.0;
                for (std::size_t r = 0; r < p.shape(0); ++r) s += double(dp(r, j)) * p(r, j);
            }
            if (how == RowSum::none) s = 0.0;
            if (how == RowSum::diagonal) s = double(dp(i, j)) * p(i, j);
            const double ds = p(i, j) * (dp(i, j) - s);
            out(i, j) = static_cast<float>(how == RowSum::sign ? -ds : ds);
        }
    return out;
}

const attn::test::MistakeFormulas<&attn::ex09::softmax_backward> softmax_mistakes{
    {ds_no_rowsum, &softmax_backward_with<RowSum::none>},
    {ds_diagonal, &softmax_backward_with<RowSum::diagonal>},
    {ds_column_sums, &softmax_backward_with<RowSum::column>},
    {ds_sign, &softmax_backward_with<RowSum::sign>},
    {ds_sum_without_p, &softmax_backward_with<RowSum::without_p>}};
}  // namespace

TEST_CASE("9.1 softmax_backward: the worked example", "[9.1]") {
    // Two rows, so that the mistakes differ: entry (i, j) takes row i's sum (rows: 0.5,
    // 0.75), not column j's (columns: 0.5, 0.75), nor its own term dP_ij P_ij alone.
    const Matrix p{{0.5f, 0.5f}, {0.25f, 0.75f}}, dp{{1, 0}, {0, 1}};
    CHECK_THAT(ex::softmax_backward(p, dp),
               softmax_mistakes.attached(
                   IsClose(Matrix{{0.25f, -0.25f}, {-0.1875f, 0.1875f}}, 1e-6f), p, dp));
}

TEST_CASE("9.1 softmax_backward: PyTorch's autograd on a 4 x 6 softmax", "[9.1]") {
    const Matrix p = ref().matrix("softmax.p"), dp = ref().matrix("softmax.dp");
    CHECK_THAT(ex::softmax_backward(p, dp),
               IsClose(ref().matrix("softmax.ds"), 1e-5f)
                   .or_mistake(ref().matrix("softmax.ds_no_rowsum"), ds_no_rowsum)
                   .or_mistake(ref().matrix("softmax.ds_diagonal"), ds_diagonal)
                   .or_mistake(ref().matrix("softmax.ds_column_sums"), ds_column_sums)
                   .or_mistake(ref().matrix("softmax.ds_sign"), ds_sign)
                   .or_mistake_if_not_finite("NaN or inf: P and dP are finite, so is dS"));
}

TEST_CASE("9.1 softmax_backward: each row of dS sums to 0; a weight of 0 gets 0", "[9.1]") {
    const Matrix p{{0.2f, 0.0f, 0.8f}, {1.0f, 0.0f, 0.0f}};
    const Matrix dp{{3.0f, 5.0f, -1.0f}, {2.0f, 7.0f, 1.0f}};
    const Matrix ds = ex::softmax_backward(p, dp);
    const Matrix expected{{0.64f, 0.0f, -0.64f}, {0.0f, 0.0f, 0.0f}};
    if (ds.shape() != expected.shape()) {
        CHECK_THAT(ds, IsClose(expected, 1e-6f));  // says which shape it has
        return;
    }
    Vector sums = xt::zeros<float>({2});
    for (std::size_t i = 0; i < 2; ++i) sums(i) = xt::sum(xt::row(ds, i))();
    {
        INFO(
            "probe: each row of dS must sum to 0, as adding one number to every score of a row "
            "leaves its softmax as it was: with s_i the row's sum of dP * P, the row sums "
            "P_ij (dP_ij - s_i) to s_i - s_i = 0, P's row summing to 1; a row that does not sum "
            "to 0 subtracts another number than that sum from dP, or none");
        CHECK_THAT(sums, IsClose(Vector{0, 0}, 1e-6f).of("the row sums of dS"));
    }
    {
        INFO(
            "a masked key (weight 0) took no part in the softmax: its score's gradient, "
            "dS[0, 1], is 0");
        CHECK(ds(0, 1) == 0.0f);
    }
    CHECK_THAT(ds, IsClose(expected, 1e-6f));
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

namespace {
constexpr const char* dx_no_means =
    "dx = dy * gain / sigma: both mean terms are missing, the gradient through the mean and "
    "through sigma";
constexpr const char* dx_no_xhat_term =
    "the term - xhat * mean(u * xhat) is missing: the gradient through sigma";
constexpr const char* dx_no_mean_term =
    "the term - mean(u) is missing: the gradient through the mean";
constexpr const char* dx_no_gain = "the gain is missing: u = dy * gain";
constexpr const char* dx_unbiased = "the variance divided by d - 1: layer norm divides by d";
constexpr const char* eps_outside =
    "eps added outside the square root, sqrt(var) + eps: sigma = sqrt(var + eps)";
constexpr const char* no_eps =
    "eps left out, sigma = sqrt(var): sigma = sqrt(var + eps), which keeps a row of equal "
    "numbers (variance 0) finite";
constexpr const char* dgain_not_summed =
    "dgain of the first row only: sum dy * xhat over all the rows";
constexpr const char* dgain_without_xhat = "dgain as the sum of dy: dgain sums dy * xhat";
constexpr const char* dbias_with_gain =
    "dbias multiplied by the gain: dbias is the sum of dy alone";

// Layer norm's backward pass as the task writes it, in double, with one known mistake.
enum class Norm {
    right,
    no_means,
    no_xhat_term,
    no_mean_term,
    no_gain,
    unbiased,
    eps_outside,
    no_eps,
    dgain_not_summed,
    dgain_without_xhat,
    dbias_with_gain
};

template <Norm how>
ex::LayerNormGradients layer_norm_backward_with(const Matrix& x, const Vector& gain,
                                                const Matrix& dy, float eps) {
    if (x.size() == 0 || gain.size() != x.shape(1) || dy.shape() != x.shape())
        throw std::invalid_argument("refused");
    const std::size_t T = x.shape(0), d = x.shape(1);
    ex::LayerNormGradients g{xt::zeros<float>({T, d}), xt::zeros<float>({d}),
                             xt::zeros<float>({d})};
    for (std::size_t t = 0; t < T; ++t) {
        double mu = 0.0, var = 0.0;
        for (std::size_t j = 0; j < d; ++j) mu += x(t, j) / double(d);
        for (std::size_t j = 0; j < d; ++j) var += (x(t, j) - mu) * (x(t, j) - mu);
        var /= how == Norm::unbiased ? double(d) - 1.0 : double(d);
        const double sigma = how == Norm::eps_outside ? std::sqrt(var) + eps
                             : how == Norm::no_eps    ? std::sqrt(var)
                                                      : std::sqrt(var + eps);
        std::vector<double> xhat(d), u(d);
        double mean_u = 0.0, mean_uxhat = 0.0;
        for (std::size_t j = 0; j < d; ++j) {
            xhat[j] = (x(t, j) - mu) / sigma;
            u[j] = double(dy(t, j)) * (how == Norm::no_gain ? 1.0 : double(gain(j)));
            mean_u += u[j] / double(d);
            mean_uxhat += u[j] * xhat[j] / double(d);
        }
        if (how == Norm::no_means || how == Norm::no_mean_term) mean_u = 0.0;
        if (how == Norm::no_means || how == Norm::no_xhat_term) mean_uxhat = 0.0;
        for (std::size_t j = 0; j < d; ++j) {
            g.dx(t, j) = static_cast<float>((u[j] - mean_u - xhat[j] * mean_uxhat) / sigma);
            if (how != Norm::dgain_not_summed || t == 0)
                g.dgain(j) += static_cast<float>(dy(t, j) *
                                                 (how == Norm::dgain_without_xhat ? 1.0 : xhat[j]));
            g.dbias(j) += dy(t, j) * (how == Norm::dbias_with_gain ? gain(j) : 1.0f);
        }
    }
    return g;
}

const attn::test::MistakeFormulas<&attn::ex09::layer_norm_backward> layer_norm_mistakes{
    {dx_no_means, &layer_norm_backward_with<Norm::no_means>},
    {dx_no_xhat_term, &layer_norm_backward_with<Norm::no_xhat_term>},
    {dx_no_mean_term, &layer_norm_backward_with<Norm::no_mean_term>},
    {dx_no_gain, &layer_norm_backward_with<Norm::no_gain>},
    {dx_unbiased, &layer_norm_backward_with<Norm::unbiased>},
    {eps_outside, &layer_norm_backward_with<Norm::eps_outside>},
    {no_eps, &layer_norm_backward_with<Norm::no_eps>},
    {dgain_not_summed, &layer_norm_backward_with<Norm::dgain_not_summed>},
    {dgain_without_xhat, &layer_norm_backward_with<Norm::dgain_without_xhat>},
    {dbias_with_gain, &layer_norm_backward_with<Norm::dbias_with_gain>}};

// Compares the three gradients, each named in a failure, with the known mistakes of each.
void check_gradients(const ex::LayerNormGradients& got, const Matrix& x, const Vector& gain,
                     const Matrix& dy, float eps, float tolerance) {
    const ex::LayerNormGradients want = layer_norm_backward_with<Norm::right>(x, gain, dy, eps);
    auto dx = IsClose(want.dx, tolerance).of("dx");
    auto dgain = IsClose(want.dgain, tolerance).of("dgain");
    auto dbias = IsClose(want.dbias, tolerance).of("dbias");
    for (const auto& f : layer_norm_mistakes.list()) {
        // Each mistake attached to the outputs it changes.
        const ex::LayerNormGradients m = f.wrong(x, gain, dy, eps);
        if (!IsClose(want.dx, tolerance).match(m.dx)) dx.or_mistake(m.dx, f.mistake);
        if (!IsClose(want.dgain, tolerance).match(m.dgain)) dgain.or_mistake(m.dgain, f.mistake);
        if (!IsClose(want.dbias, tolerance).match(m.dbias)) dbias.or_mistake(m.dbias, f.mistake);
    }
    CHECK_THAT(got.dx, dx.or_mistake_if_not_finite(
                           "NaN or inf: sigma = sqrt(var + eps) is above 0, even for a row of "
                           "equal numbers"));
    CHECK_THAT(got.dgain, dgain);
    CHECK_THAT(got.dbias, dbias);
}
}  // namespace

TEST_CASE("9.2 layer_norm_backward: PyTorch's autograd on 4 rows of 8", "[9.2]") {
    const Matrix x = ref().matrix("ln.x"), dy = ref().matrix("ln.dy");
    const Vector gain = ref().vector("ln.gain");
    const ex::LayerNormGradients g = ex::layer_norm_backward(x, gain, dy, 1e-5f);
    CHECK_THAT(g.dx,
               IsClose(ref().matrix("ln.dx"), 1e-4f)
                   .of("dx")
                   .or_mistake(ref().matrix("ln.dx_no_means"), dx_no_means)
                   .or_mistake(ref().matrix("ln.dx_no_xhat_term"), dx_no_xhat_term)
                   .or_mistake(ref().matrix("ln.dx_no_mean_term"), dx_no_mean_term)
                   .or_mistake(ref().matrix("ln.dx_no_gain"), dx_no_gain)
                   .or_mistake(ref().matrix("ln.dx_unbiased"), dx_unbiased)
                   .or_mistake_if_not_finite("NaN or inf: sigma = sqrt(var + eps) is above 0"));
    CHECK_THAT(g.dgain, IsClose(ref().vector("ln.dgain"), 1e-4f)
                            .of("dgain")
                            .or_mistake(ref().vector("ln.dgain_not_summed"), dgain_not_summed));
    CHECK_THAT(g.dbias, IsClose(ref().vector("ln.dbias"), 1e-5f).of("dbias"));
}

TEST_CASE("9.2 layer_norm_backward: a row of equal numbers (variance 0): eps keeps it finite",
          "[9.2]") {
    // Row 0 is constant: var = 0, so sigma = sqrt(eps) = 0.1 with eps = 0.01; without eps,
    // xhat = 0 / 0.
    const Matrix x{{1.5f, 1.5f, 1.5f, 1.5f}, {0.5f, -1.0f, 2.0f, 0.0f}};
    const Matrix dy{{0.5f, -1.0f, 0.25f, 2.0f}, {1.0f, 0.5f, -0.5f, -2.0f}};
    const Vector gain{1.0f, -0.5f, 2.0f, 1.5f};
    check_gradients(ex::layer_norm_backward(x, gain, dy, 0.01f), x, gain, dy, 0.01f, 1e-4f);
}

TEST_CASE("9.2 layer_norm_backward: a row of variance 1e-6, where eps = 1e-5 dominates sigma",
          "[9.2]") {
    // var = 1e-6: sigma = sqrt(1e-6 + 1e-5) = 3.3e-3, but sqrt(1e-6) + 1e-5 = 1.01e-3 with eps
    // outside the root, which makes dx about 3.3 times too large.
    const Matrix x{{1e-3f, -1e-3f, 1e-3f, -1e-3f}};
    const Matrix dy{{0.01f, 0.005f, -0.0025f, 0.02f}};
    const Vector gain{1.0f, 2.0f, 0.5f, -1.0f};
    check_gradients(ex::layer_norm_backward(x, gain, dy, 1e-5f), x, gain, dy, 1e-5f, 1e-4f);
}

TEST_CASE("9.2 layer_norm_backward: a dy equal across a row gives dx = 0", "[9.2]") {
    const Matrix x = ref().matrix("ln.x");
    const Matrix dy = xt::ones<float>(x.shape()) * 2.5f;
    const Vector gain = xt::ones<float>({x.shape(1)});
    INFO("adding one number to every feature of y is the bias's work: x gets no gradient");
    CHECK_THAT(ex::layer_norm_backward(x, gain, dy, 1e-5f).dx,
               IsClose(Matrix(xt::zeros<float>(x.shape())), 1e-5f).of("dx"));
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
constexpr const char* no_correction =
    "no bias correction: divide m by 1 - beta1^t and v by 1 - beta2^t, t the step count from 1";
constexpr const char* step_not_counted =
    "the step count is never incremented (state.step stays as it was, so every step is "
    "corrected as the first): count the step, state.step += 1, before the corrections";
constexpr const char* step_counted_late =
    "the corrections use the step count before this step (t = 0 on the first step, and "
    "1 - beta^0 = 0): count the step first, t = state.step + 1";
constexpr const char* l2_decay =
    "the decay added to the gradient (Adam's L2): AdamW's decay is decoupled, w -= lr * "
    "weight_decay * w, outside m and v";
constexpr const char* no_decay =
    "no weight decay: decays is true for this tensor, so shrink the weight by lr * "
    "weight_decay * w, outside m and v";
constexpr const char* decay_always =
    "weight decay on a tensor with decays false (a gain, a bias or an embedding): decay only "
    "when decays";
constexpr const char* decay_without_lr =
    "the decay not multiplied by the learning rate, w -= weight_decay * w: it is w -= lr * "
    "weight_decay * w";
constexpr const char* decay_after =
    "the decay applied after the step, to the updated weight: AdamW shrinks the weight from "
    "before this step, w -= lr * weight_decay * w, then takes the Adam step";
constexpr const char* eps_in_root =
    "epsilon under the square root, sqrt(v-hat + epsilon): it is added to the root, "
    "sqrt(v-hat) + epsilon";
constexpr const char* betas_swapped =
    "beta1 and beta2 swapped: m = beta1 m + (1 - beta1) g with beta1 = 0.9, v = beta2 v + "
    "(1 - beta2) g^2 with beta2";
constexpr const char* moments_not_kept =
    "the moments are not kept in state: state.m and state.v must hold the new moments after "
    "the step (updated in place, not in copies)";

// One AdamW step as the task writes it, in double, with one known mistake.
enum class Adam {
    right,
    no_correction,
    step_not_counted,
    step_counted_late,
    l2,
    no_decay,
    decay_always,
    decay_without_lr,
    decay_after,
    eps_in_root,
    betas_swapped,
    moments_not_kept
};

template <Adam how>
void adamw_with(std::vector<float>& weights, const std::vector<float>& grads, ex::AdamState& state,
                float learning_rate, bool decays, const ex::AdamSettings& settings) {
    const std::size_t n = weights.size();
    if (grads.size() != n || (!state.m.empty() && state.m.size() != n) ||
        (!state.v.empty() && state.v.size() != n) || !(learning_rate > 0.0f) ||
        !std::isfinite(learning_rate))
        throw std::invalid_argument("refused");
    std::vector<float> m = state.m, v = state.v;
    if (m.empty()) m.assign(n, 0.0f);
    if (v.empty()) v.assign(n, 0.0f);
    const std::size_t t = how == Adam::step_counted_late ? state.step : state.step + 1;
    if (how != Adam::step_not_counted) ++state.step;
    const double b1 = how == Adam::betas_swapped ? settings.beta2 : settings.beta1;
    const double b2 = how == Adam::betas_swapped ? settings.beta1 : settings.beta2;
    const double c1 = how == Adam::no_correction ? 1.0 : 1.0 - std::pow(b1, double(t));
    const double c2 = how == Adam::no_correction ? 1.0 : 1.0 - std::pow(b2, double(t));
    const bool decay = how == Adam::decay_always || (decays && how != Adam::no_decay);
    const double lr = learning_rate, wd = settings.weight_decay;
    for (std::size_t i = 0; i < n; ++i) {
        double w = weights[i];
        const double g = grads[i] + (how == Adam::l2 && decay ? wd * w : 0.0);
        m[i] = static_cast<float>(b1 * m[i] + (1.0 - b1) * g);
        v[i] = static_cast<float>(b2 * v[i] + (1.0 - b2) * g * g);
        const double m_hat = m[i] / c1, v_hat = v[i] / c2;
        const double step =
            m_hat / (how == Adam::eps_in_root ? std::sqrt(v_hat + settings.epsilon)
                                              : std::sqrt(v_hat) + settings.epsilon);
        if (decay && how != Adam::l2 && how != Adam::decay_after)
            w -= (how == Adam::decay_without_lr ? 1.0 : lr) * wd * w;
        w -= lr * step;
        if (decay && how == Adam::decay_after) w -= lr * wd * w;
        weights[i] = static_cast<float>(w);
    }
    if (how != Adam::moments_not_kept) {
        state.m = m;
        state.v = v;
    }
}

// Weighed on every call of ex::adamw_step (tests/support/unchanged.hpp): the weights and the
// whole state (m, v, the step count) after each step against the answer's.
const attn::test::MistakeFormulas<&attn::ex09::adamw_step> adamw_mistakes{
    {{no_correction, &adamw_with<Adam::no_correction>},
     {step_not_counted, &adamw_with<Adam::step_not_counted>},
     {step_counted_late, &adamw_with<Adam::step_counted_late>},
     {l2_decay, &adamw_with<Adam::l2>},
     {no_decay, &adamw_with<Adam::no_decay>},
     {decay_always, &adamw_with<Adam::decay_always>},
     {decay_without_lr, &adamw_with<Adam::decay_without_lr>},
     {decay_after, &adamw_with<Adam::decay_after>},
     {eps_in_root, &adamw_with<Adam::eps_in_root>},
     {betas_swapped, &adamw_with<Adam::betas_swapped>},
     {moments_not_kept, &adamw_with<Adam::moments_not_kept>}},
    1e-5};

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

// `steps` AdamW steps from a fresh state, the answer's and the task's (adamw_with).
struct Stepped {
    std::vector<float> weights;
    ex::AdamState state;
};
Stepped run_steps(bool answer, std::vector<float> w, const std::vector<std::vector<float>>& grads,
                  float lr, bool decays, const ex::AdamSettings& settings) {
    ex::AdamState state;
    for (const std::vector<float>& g : grads) {
        if (answer)
            ex::adamw_step(w, g, state, lr, decays, settings);
        else
            adamw_with<Adam::right>(w, g, state, lr, decays, settings);
    }
    return {w, state};
}

std::string numbers_text(const std::vector<float>& v) {
    std::string out = "{";
    for (std::size_t i = 0; i < v.size(); ++i)
        out += (i ? ", " : "") + attn::test::unchanged::text(v[i]);
    return out + "}";
}
}  // namespace

TEST_CASE("9.4 adamw_step: the worked example", "[9.4]") {
    {
        std::vector<float> w{1.0f};
        ex::AdamState state;
        ex::adamw_step(w, {0.5f}, state, 0.01f, false);
        {
            INFO(
                "w = 1, g = 0.5, lr 0.01, no decay: the first step moves a weight by lr, "
                "whatever its gradient: m-hat / sqrt(v-hat) = g / |g| = 1");
            CHECK_THAT(as_vector(w), IsClose(Vector{0.99f}, 1e-6f).of("weights"));
        }
        CHECK_THAT(Vector{static_cast<float>(state.step)},
                   IsClose(Vector{1}, 0).of("state.step").or_mistake(Vector{0}, step_not_counted));
        CHECK_THAT(as_vector(state.m),
                   IsClose(Vector{0.05f}, 1e-7f)
                       .of("state.m")
                       .or_mistake(Vector(xt::zeros<float>({0})), moments_not_kept));
        CHECK_THAT(as_vector(state.v),
                   IsClose(Vector{0.0025f}, 1e-8f)
                       .of("state.v")
                       .or_mistake(Vector(xt::zeros<float>({0})), moments_not_kept));
    }
    {
        std::vector<float> d{1.0f};
        ex::AdamState state;
        ex::adamw_step(d, {0.5f}, state, 0.01f, true);
        INFO("the same step with decay 0.1: w = 1 - 0.01 * 0.1 * 1 - 0.01 = 0.989");
        CHECK_THAT(as_vector(d), IsClose(Vector{0.989f}, 1e-6f).of("weights"));
    }
}

TEST_CASE("9.4 adamw_step: probes: each term of AdamW alone", "[9.4]") {
    attn::test::ProbeChain probes;
    ex::AdamSettings defaults;
    const auto probe = [&](const std::string& label, const std::string& isolates,
                           std::vector<float> w, const std::vector<std::vector<float>>& grads,
                           float lr, bool decays, const ex::AdamSettings& settings) {
        std::string input = "w = " + numbers_text(w);
        for (std::size_t i = 0; i < grads.size(); ++i)
            input += ", g" + (grads.size() > 1 ? std::to_string(i + 1) : std::string()) + " = " +
                     numbers_text(grads[i]);
        input += ", lr = " + attn::test::unchanged::text(lr) + ", decays " +
                 (decays ? "true" : "false") +
                 ", beta1 = " + attn::test::unchanged::text(settings.beta1) +
                 ", beta2 = " + attn::test::unchanged::text(settings.beta2) +
                 ", epsilon = " + attn::test::unchanged::text(settings.epsilon) +
                 ", weight_decay = " + attn::test::unchanged::text(settings.weight_decay) +
                 ", from a fresh state";
        const Stepped want = run_steps(false, w, grads, lr, decays, settings);
        probes.check(
            label, isolates,
            [&] { return as_vector(run_steps(true, w, grads, lr, decays, settings).weights); },
            IsClose(as_vector(want.weights), 1e-6f).of("weights").on_input(input));
    };
    const auto state_probe = [&](const std::string& label, const std::string& isolates,
                                 const std::string& field) {
        const std::vector<float> w{1.0f, 1.0f}, g{0.5f, -2.0f};
        const Stepped want = run_steps(false, w, {g}, 0.1f, false, defaults);
        const auto pick = [&](const Stepped& s) -> Vector {
            if (field == "state.step") return Vector{static_cast<float>(s.state.step)};
            return as_vector(field == "state.m" ? s.state.m : s.state.v);
        };
        probes.check(
            label, isolates, [&] { return pick(run_steps(true, w, {g}, 0.1f, false, defaults)); },
            IsClose(pick(want), 1e-7f)
                .of(field)
                .on_input("w = {1, 1}, g = {0.5, -2}, lr = 0.1, decays false, the default "
                          "settings, from a fresh state"));
    };
    probe("a zero gradient with decay",
          "with g = 0, m and v stay 0 and m-hat / (sqrt(v-hat) + epsilon) = 0, so only the decay "
          "moves the weights: w - lr * weight_decay * w; a difference here is in the decay "
          "(times the learning rate, on the weight itself, not added to the gradient)",
          {2.0f, -1.0f}, {{0.0f, 0.0f}}, 0.5f, true, defaults);
    probe("a zero gradient without decay",
          "with g = 0 and decays false nothing may change: a difference here is a decay (or a "
          "step) where decays is false",
          {2.0f, -1.0f}, {{0.0f, 0.0f}}, 0.5f, false, defaults);
    ex::AdamSettings slow = defaults;
    slow.beta2 = 0.999f;
    probe("one step from zero moments",
          "after the first step's bias correction m-hat = g and v-hat = g^2, so each weight "
          "moves by lr against the sign of its gradient, whatever its size: a difference here "
          "is in the bias correction (m / (1 - beta1^t) and v / (1 - beta2^t), t = 1 on the "
          "first step: count the step first) or in the step, w -= lr * m-hat / (sqrt(v-hat) + "
          "epsilon)",
          {1.0f, 1.0f}, {{0.5f, -2.0f}}, 0.1f, false, slow);
    state_probe("the step count after one step",
                "state.step counts the steps taken: 1 after the first (count it in state, so "
                "that the next step's correction uses t = 2)",
                "state.step");
    state_probe("state.m after one step",
                "state.m holds the new first moment after the step, (1 - beta1) g from zero: "
                "written back into state, not a copy",
                "state.m");
    state_probe("state.v after one step",
                "state.v holds the new second moment after the step, (1 - beta2) g^2 from "
                "zero: written back into state, not a copy",
                "state.v");
    probe("a tiny gradient, g = 1e-4",
          "sqrt(v-hat) = 1e-4 is only 10^4 times epsilon here, so where epsilon goes shows: w "
          "moves by lr * 1e-4 / (1e-4 + 1e-8); a difference here is in the denominator, "
          "sqrt(v-hat) + epsilon (epsilon added to the root, not under it)",
          {1.0f}, {{1e-4f}}, 0.1f, false, defaults);
    ex::AdamSettings no_beta1 = defaults;
    no_beta1.beta1 = 0.0f;
    probe("two steps with beta1 = 0",
          "with beta1 = 0 the first moment is the gradient itself (m-hat = g), so a difference "
          "here is in the second moment over two steps: v = beta2 v + (1 - beta2) g^2 carried "
          "in state from the first step, its correction 1 - beta2^t with t = 2, or the step "
          "count",
          {1.0f, -0.5f}, {{1.0f, 0.5f}, {-0.5f, 2.0f}}, 0.1f, false, no_beta1);
    probe("two steps with the default betas",
          "the second moment being right, a difference here is in the first moment over two "
          "steps: m = beta1 m + (1 - beta1) g with beta1 (not beta2), carried in state, and "
          "its correction 1 - beta1^t",
          {1.0f, -0.5f}, {{1.0f, 0.5f}, {-0.5f, 2.0f}}, 0.1f, false, defaults);
    probe("the decay and a gradient together",
          "the decay and the step are each right alone: a difference here is in their order, "
          "AdamW shrinks the weight from before this step, w -= lr * weight_decay * w, then "
          "takes the Adam step (not the decay of the updated weight)",
          {2.0f}, {{1.0f}}, 0.5f, true, defaults);
}

TEST_CASE("9.4 adamw_step: three steps equal PyTorch's AdamW, with weight decay", "[9.4]") {
    const std::vector<Vector> got = three_steps(true);
    for (int i = 0; i < 3; ++i) {
        INFO("after step " << i + 1);
        const std::string n = std::to_string(i);
        CHECK_THAT(got[i],
                   IsClose(ref().vector("adam.decay" + n), 1e-6f)
                       .of("weights")
                       .or_mistake(ref().vector("adam.no_correction" + n), no_correction)
                       .or_mistake(ref().vector("adam.l2_" + n), l2_decay)
                       .or_mistake(ref().vector("adam.no_decay" + n), no_decay)
                       .or_mistake_if_not_finite("NaN or inf: the root of v + epsilon is above 0"));
    }
}

TEST_CASE("9.4 adamw_step: three steps equal PyTorch's AdamW, no decay for a gain", "[9.4]") {
    const std::vector<Vector> got = three_steps(false);
    for (int i = 0; i < 3; ++i) {
        INFO("after step " << i + 1);
        const std::string n = std::to_string(i);
        CHECK_THAT(got[i], IsClose(ref().vector("adam.no_decay" + n), 1e-6f)
                               .of("weights")
                               .or_mistake(ref().vector("adam.decay" + n), decay_always));
    }
}

TEST_CASE("9.4 adamw_step: bad sizes or learning rates are refused, nothing changed", "[9.4]") {
    std::vector<float> w{1.0f, 2.0f};
    ex::AdamState state;
    // Each refusal with its own words: no label outlives its check.
    const auto refused = [&](const std::string& why, const std::vector<float>& grads, float lr,
                             const std::vector<std::string>& named) {
        INFO(why);
        CHECK_THROWS_MATCHES(ex::adamw_step(w, grads, state, lr, true), std::invalid_argument,
                             Refused(named));
    };
    refused("1 gradient for 2 weights: refused, the message naming adamw_step and both sizes",
            {0.5f}, 0.01f, {"adamw_step", "1", "2"});
    refused("a learning rate of 0: refused (it must be above 0)", {0.5f, 0.5f}, 0.0f,
            {"adamw_step"});
    refused("a learning rate of NaN: refused (it must be a number above 0)", {0.5f, 0.5f},
            std::numeric_limits<float>::quiet_NaN(), {"adamw_step"});
    refused("an infinite learning rate: refused (it must be finite)", {0.5f, 0.5f},
            std::numeric_limits<float>::infinity(), {"adamw_step"});
    state.m = {0.0f, 0.0f, 0.0f};
    refused("state.m holds 3 numbers for 2 weights: refused", {0.5f, 0.5f}, 0.01f, {"adamw_step"});
    INFO("a refused step changes neither the weights nor the step count");
    CHECK(w == std::vector<float>{1.0f, 2.0f});
    CHECK(state.step == 0);
}
