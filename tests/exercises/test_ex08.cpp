// Tests for the chapter 08 exercises; the tag ([8.1]) is the exercise's number.
//
// Expected values: the worked examples of exercises.hpp (by hand) and
// tests/reference/ch08.txt (RoPE as PyTorch's complex multiplication, a Llama block
// written out in torch, the test tokenizer's encodings from a Python BPE, top-p draws; see
// generate.py), which also holds the answers of the known mistakes. The wrong merges of 8.3
// are computed here, the way each mistake computes them.
#include "exercises.hpp"

#include "chapters/01_single_head_attention/single_head_attention.hpp"
#include "chapters/08_real_model/llama.hpp"
#include "common/print.hpp"
#include "common/random.hpp"
#include "every_size.hpp"
#include "matchers.hpp"
#include "reference.hpp"
#include "unchanged.hpp"

#include <xtensor/xbuilder.hpp>
#include <xtensor/xview.hpp>

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <fstream>
#include <map>
#include <numeric>
#include <stdexcept>
#include <string>

using attn::Matrix;
using attn::Vector;
using attn::test::IsClose;
using attn::test::Reference;
using Catch::Matchers::Contains;
// The exercises as the tests call them (ex::name): each call fails the test when the answer
// changes an argument it takes by const reference (tests/support/unchanged.hpp).
namespace ex {
using namespace attn::ex08;  // the exercises' types
using attn::test::KeepsInputs;
constexpr KeepsInputs<&attn::ex08::rope> rope{"rope", "x", "first_position", "theta"};
constexpr KeepsInputs<&attn::ex08::llama_block> llama_block{
    "llama_block", "x", "attention_norm", "attention", "ffn_norm", "ffn"};
constexpr KeepsInputs<&attn::ex08::merge_pairs> merge_pairs{"merge_pairs", "tokens", "pieces",
                                                            "scores"};
constexpr KeepsInputs<&attn::ex08::sample_top_p> sample_top_p{"sample_top_p", "logits",
                                                              "temperature", "top_p", "coin"};
}  // namespace ex

namespace {
const Reference& ref() {
    return Reference::load("ch08");
}

// std::invalid_argument whose message contains a fragment (a stub's not_implemented is
// another type, so a stub shows as not started, not as a wrong error).
class Refused : public Catch::MatcherBase<std::invalid_argument> {
public:
    explicit Refused(std::string fragment) : fragment_(std::move(fragment)) {}
    bool match(const std::invalid_argument& e) const override {
        return std::string(e.what()).find(fragment_) != std::string::npos;
    }
    std::string describe() const override { return "is std::invalid_argument naming " + fragment_; }

private:
    std::string fragment_;
};

// ---------------------------------------------------------------- helpers for 8.2

struct Layer {
    Vector attention_norm, ffn_norm;
    attn::MultiHeadWeights attention;
    attn::SwiGLUWeights ffn;
};

// Chapter 08's block with the same weights, for positions 0..T-1.
Matrix library_block(const Matrix& x, const Layer& l) {
    attn::LlamaConfig c;
    c.dim = x.shape(1);
    c.hidden_dim = l.ffn.w_gate.shape(1);
    c.n_layers = 1;
    c.n_heads = l.attention.n_heads;
    c.n_kv_heads = l.attention.n_kv_heads;
    c.vocab_size = 1;
    c.seq_len = x.shape(0);
    return attn::llama_block(x, attn::llama_layer(l.attention_norm, l.attention, l.ffn_norm, l.ffn),
                             0, c);
}

constexpr const char* q_only = "only the queries rotated: rotate each head's keys too";
constexpr const char* no_rope = "no rotation: rope() the queries and keys of every head";
constexpr const char* values_rotated =
    "the values rotated too: RoPE turns only the queries and the keys, the values keep their "
    "direction";
constexpr const char* block_kv_modulo =
    "head h used key/value head h % n_kv_heads: groups are contiguous, h / (n_heads / "
    "n_kv_heads)";
constexpr const char* block_not_causal = "no causal mask: token t may only see tokens 0..t";
constexpr const char* ffn_reads_x =
    "the feed-forward network reads RMSNorm(x): it reads RMSNorm(h), h = x + "
    "Attn(RMSNorm(x)) being the stream after the attention's residual";
constexpr const char* ffn_unnormed =
    "the feed-forward network reads h without its norm: y = h + SwiGLU(RMSNorm(h) with "
    "ffn_norm)";
constexpr const char* ffn_with_attention_norm =
    "the feed-forward network's norm uses attention_norm: it has its own gain, ffn_norm";

// The known mistakes of 8.2 as formulas: chapter 08's block with one thing wired wrong.
enum class Wiring {
    q_only,
    no_rope,
    values_rotated,
    kv_modulo,
    not_causal,
    ffn_reads_x,
    ffn_unnormed,
    ffn_with_attention_norm
};

template <Wiring how>
Matrix wired(const Matrix& x, const Vector& attention_norm, const attn::MultiHeadWeights& a,
             const Vector& ffn_norm, const attn::SwiGLUWeights& ffn) {
    library_block(x, {attention_norm, ffn_norm, a, ffn});  // refuses what the reference refuses
    const std::size_t T = x.shape(0), n_heads = a.n_heads, n_kv = a.n_kv_heads;
    const Matrix z = attn::rms_norm(x, attention_norm, 1e-5f);
    const attn::Tensor3 q = attn::split_heads(attn::project(z, a.w_q), n_heads);
    const attn::Tensor3 k = attn::split_heads(attn::project(z, a.w_k), n_kv);
    const attn::Tensor3 v = attn::split_heads(attn::project(z, a.w_v), n_kv);
    const attn::Mask mask =
        how == Wiring::not_causal ? attn::Mask(xt::ones<bool>({T, T})) : attn::causal_mask(T);
    const auto turned = [](const Matrix& m, bool turn) {
        return turn ? attn::rope(m, 0, 10000.0f) : m;
    };
    attn::Tensor3 heads = xt::zeros<float>(q.shape());
    for (std::size_t h = 0; h < n_heads; ++h) {
        const std::size_t g = how == Wiring::kv_modulo ? h % n_kv : h / (n_heads / n_kv);
        const Matrix q_h = turned(xt::view(q, h, xt::all(), xt::all()), how != Wiring::no_rope);
        const Matrix k_h = turned(xt::view(k, g, xt::all(), xt::all()),
                                  how != Wiring::no_rope && how != Wiring::q_only);
        const Matrix v_h =
            turned(xt::view(v, g, xt::all(), xt::all()), how == Wiring::values_rotated);
        xt::view(heads, h, xt::all(), xt::all()) =
            attn::masked_attention(q_h, k_h, v_h, mask).output;
    }
    const Matrix h = x + attn::project(attn::merge_heads(heads), a.w_o);
    Matrix into = attn::rms_norm(h, ffn_norm, 1e-5f);
    if (how == Wiring::ffn_reads_x) into = attn::rms_norm(x, ffn_norm, 1e-5f);
    if (how == Wiring::ffn_unnormed) into = h;
    if (how == Wiring::ffn_with_attention_norm) into = attn::rms_norm(h, attention_norm, 1e-5f);
    return h + attn::swiglu(into, ffn);
}

// Weighed on every call of ex::llama_block (tests/support/unchanged.hpp): named only when
// the answer's output is the formula's on every input the tests give.
const attn::test::MistakeFormulas<&attn::ex08::llama_block> block_mistakes{
    {q_only, &wired<Wiring::q_only>},
    {no_rope, &wired<Wiring::no_rope>},
    {values_rotated, &wired<Wiring::values_rotated>},
    {block_kv_modulo, &wired<Wiring::kv_modulo>},
    {block_not_causal, &wired<Wiring::not_causal>},
    {ffn_reads_x, &wired<Wiring::ffn_reads_x>},
    {ffn_unnormed, &wired<Wiring::ffn_unnormed>},
    {ffn_with_attention_norm, &wired<Wiring::ffn_with_attention_norm>}};

Layer reference_layer() {
    const auto m = [](const std::string& name) { return ref().matrix("block." + name); };
    Layer l;
    l.attention_norm = ref().vector("block.attention_norm");
    l.ffn_norm = ref().vector("block.ffn_norm");
    l.attention = {m("w_q"), m("w_k"), m("w_v"), m("w_o"), 4, 2};
    l.ffn = {m("w_gate"), m("w_up"), m("w_down")};
    return l;
}

// ---------------------------------------------------------------- helpers for 8.3

struct Vocabulary {
    std::vector<std::string> pieces;
    std::vector<float> scores;
    std::map<std::string, std::size_t> ids;
};

// The test tokenizer (tests/reference/ch08_tokenizer.bin), read as its format says.
const Vocabulary& vocabulary() {
    static const Vocabulary v = [] {
        Vocabulary v;
        std::ifstream in(Reference::file("ch08_tokenizer.bin"), std::ios::binary);
        std::int32_t max_length = 0, length = 0;
        float score = 0.0f;
        in.read(reinterpret_cast<char*>(&max_length), 4);
        while (in.read(reinterpret_cast<char*>(&score), 4) &&
               in.read(reinterpret_cast<char*>(&length), 4)) {
            std::string piece(static_cast<std::size_t>(length), '\0');
            in.read(piece.data(), length);
            v.ids.emplace(piece, v.pieces.size());
            v.pieces.push_back(piece);
            v.scores.push_back(score);
        }
        REQUIRE(v.pieces.size() == 324);
        return v;
    }();
    return v;
}

// The tokens before any merge: a space in front, then one token per UTF-8 character, or
// per byte when the vocabulary lacks the character.
std::vector<std::size_t> characters(const std::string& text) {
    const Vocabulary& v = vocabulary();
    std::vector<std::size_t> tokens;
    if (text.empty()) return tokens;
    const std::string spaced = " " + text;
    for (std::size_t i = 0; i < spaced.size();) {
        const auto b = static_cast<unsigned char>(spaced[i]);
        const std::size_t n = b < 0x80 ? 1 : b < 0xE0 ? 2 : b < 0xF0 ? 3 : 4;
        const auto it = v.ids.find(spaced.substr(i, n));
        if (it != v.ids.end()) {
            tokens.push_back(it->second);
        } else {
            for (std::size_t j = i; j < i + n; ++j) {
                char name[8];
                std::snprintf(name, sizeof name, "<0x%02X>", static_cast<unsigned char>(spaced[j]));
                tokens.push_back(v.ids.at(name));
            }
        }
        i += n;
    }
    return tokens;
}

// A known mistake: merging the leftmost pair that joins, whatever its score.
std::vector<std::size_t> merge_leftmost(std::vector<std::size_t> t, const Vocabulary& v) {
    for (bool merged = true; merged;) {
        merged = false;
        for (std::size_t i = 0; i + 1 < t.size() && !merged; ++i) {
            const auto it = v.ids.find(v.pieces[t[i]] + v.pieces[t[i + 1]]);
            if (it != v.ids.end()) {
                t[i] = it->second;
                t.erase(t.begin() + static_cast<std::ptrdiff_t>(i) + 1);
                merged = true;
            }
        }
    }
    return t;
}

// A known mistake: one pass from left to right, merging each pair that joins.
std::vector<std::size_t> merge_one_pass(std::vector<std::size_t> t, const Vocabulary& v) {
    for (std::size_t i = 0; i + 1 < t.size(); ++i) {
        const auto it = v.ids.find(v.pieces[t[i]] + v.pieces[t[i + 1]]);
        if (it != v.ids.end()) {
            t[i] = it->second;
            t.erase(t.begin() + static_cast<std::ptrdiff_t>(i) + 1);
        }
    }
    return t;
}

Vector numbers(const std::vector<std::size_t>& ids) {
    Vector v = xt::zeros<float>({ids.size()});
    for (std::size_t i = 0; i < ids.size(); ++i) v(i) = static_cast<float>(ids[i]);
    return v;
}

std::string text_of(const std::string& key) {
    std::string text;
    for (float b : ref().vector(key)) text += static_cast<char>(static_cast<unsigned char>(b));
    return text;
}

// ---------------------------------------------------------------- helpers for 8.4

constexpr const char* coin_times_top_p =
    "the coin scaled by top_p: r = coin * (the kept tokens' probability mass, which is above "
    "top_p)";
constexpr const char* not_renormalised =
    "coin not scaled by the kept mass: r = coin * (sum of the kept probabilities)";
constexpr const char* ascending = "the kept tokens walked from the least likely: most likely first";
constexpr const char* one_short = "stopped before the token that crosses top_p: keep it";
constexpr const char* no_temperature = "the temperature ignored: softmax(logits / temperature)";
constexpr const char* times_temperature =
    "the logits multiplied by the temperature: divide them, softmax(logits / temperature)";
constexpr const char* cut_at_reach =
    "the tokens were cut when their mass reached top_p (>=): keep them until it is above top_p "
    "(>), the crossing token included";
constexpr const char* higher_id_first =
    "equal probabilities ordered from the higher id: the lower id comes first";

// The known mistakes of 8.4 as formulas: top-p sampling with one thing done wrong.
enum class Drawing {
    coin_times_top_p,
    not_renormalised,
    ascending,
    one_short,
    no_temperature,
    times_temperature,
    cut_at_reach,
    higher_id_first,
    ascending_walk  // the same mistake walked backwards by index: its fallback is the least likely
};

template <Drawing how>
std::size_t drawn(const Vector& logits, float temperature, float top_p, float coin) {
    if (logits.size() == 0 || !(temperature > 0.0f) || !(top_p > 0.0f && top_p <= 1.0f))
        throw std::invalid_argument("refused");  // as the reference refuses
    const Vector p =
        attn::softmax(how == Drawing::no_temperature      ? logits
                      : how == Drawing::times_temperature ? Vector(logits * temperature)
                                                          : Vector(logits / temperature));
    std::vector<std::size_t> order(p.size());
    for (std::size_t i = 0; i < order.size(); ++i) order[i] = i;
    if (how == Drawing::higher_id_first) std::reverse(order.begin(), order.end());
    std::stable_sort(order.begin(), order.end(),
                     [&](std::size_t a, std::size_t b) { return p(a) > p(b); });
    std::size_t kept = 0;
    float mass = 0.0f;
    while (kept < order.size()) {
        if (how == Drawing::one_short && kept > 0 && mass + p(order[kept]) > top_p) break;
        mass += p(order[kept++]);
        if (how == Drawing::cut_at_reach ? mass >= top_p : mass > top_p) break;
    }
    if (how == Drawing::ascending) std::reverse(order.begin(), order.begin() + long(kept));
    float r = coin * (how == Drawing::not_renormalised   ? 1.0f
                      : how == Drawing::coin_times_top_p ? top_p
                                                         : mass);
    for (std::size_t n = 0; n < kept; ++n) {
        const std::size_t i = how == Drawing::ascending_walk ? kept - 1 - n : n;
        r -= p(order[i]);
        if (r < 0.0f) return order[i];
    }
    return order[kept - 1];
}

// Weighed on every call of ex::sample_top_p (tests/support/unchanged.hpp): named only when
// the answer draws the formula's token on every call of the tests (four equal logits alone
// cannot tell the coin scaled by top_p from a cut at >=).
const attn::test::MistakeFormulas<&attn::ex08::sample_top_p> top_p_mistakes{
    {coin_times_top_p, &drawn<Drawing::coin_times_top_p>},
    {not_renormalised, &drawn<Drawing::not_renormalised>},
    {ascending, &drawn<Drawing::ascending>},
    {"the kept tokens walked by index from the least likely, backwards: most likely first",
     &drawn<Drawing::ascending_walk>},
    {one_short, &drawn<Drawing::one_short>},
    {no_temperature, &drawn<Drawing::no_temperature>},
    {times_temperature, &drawn<Drawing::times_temperature>},
    {cut_at_reach, &drawn<Drawing::cut_at_reach>},
    {higher_id_first, &drawn<Drawing::higher_id_first>}};
}  // namespace

// ---------------------------------------------------------------- 8.1 rope

TEST_CASE("8.1 rope: the worked example", "[8.1]") {
    const Matrix got = ex::rope(Matrix{{1, 0, 1, 0}}, 1, 10000.0f);
    CHECK_THAT(got,
               IsClose(Matrix{{std::cos(1.0f), std::sin(1.0f), std::cos(0.01f), std::sin(0.01f)}})
                   .or_mistake(
                       Matrix{{std::cos(1.0f), -std::sin(1.0f), std::cos(0.01f), -std::sin(0.01f)}},
                       "rotated the other way: x'_2i+1 = x_2i sin + x_2i+1 cos"));
}

TEST_CASE("8.1 rope: matches PyTorch's complex rotation at positions 3..8", "[8.1]") {
    const Matrix x = ref().matrix("rope.x");
    CHECK_THAT(ex::rope(x, 3, 10000.0f),
               IsClose(ref().matrix("rope.out"), 1e-5f)
                   .or_mistake(ref().matrix("rope.from_zero"),
                               "row t rotated for position t: it is at first_position + t")
                   .or_mistake(ref().matrix("rope.halves"),
                               "x_i paired with x_(i + d/2) (the rotate_half layout of other "
                               "code): Llama's pairs are neighbours, (x_2i, x_2i+1)")
                   .or_mistake(ref().matrix("rope.exponent"),
                               "the frequency theta^(-i/d): pair i turns by theta^(-2i/d)")
                   .or_mistake(ref().matrix("rope.backwards"),
                               "rotated the other way: the angle is +p theta^(-2i/d)")
                   .or_mistake_if_not_finite("NaN or inf: check the angle's formula"));
}

TEST_CASE("8.1 rope: a score depends only on the distance between positions", "[8.1]") {
    const Matrix q = xt::view(ref().matrix("rope.x"), xt::range(0, 1), xt::all());
    const Matrix k = xt::view(ref().matrix("rope.x"), xt::range(1, 2), xt::all());
    const auto score = [&](std::size_t m, std::size_t n) {
        return xt::sum(ex::rope(q, m, 10000.0f) * ex::rope(k, n, 10000.0f))();
    };
    CHECK(std::abs(score(7, 4) - score(3, 0)) < 1e-4f);
    CHECK(std::abs(score(503, 500) - score(3, 0)) < 1e-3f);
}

TEST_CASE("8.1 rope: an odd width or no rows is refused", "[8.1]") {
    CHECK_THROWS_MATCHES(ex::rope(Matrix(xt::ones<float>({2, 3})), 0, 10000.0f),
                         std::invalid_argument, Refused("rope"));
    CHECK_SHAPE_ERROR(ex::rope(Matrix(xt::zeros<float>({0, 4})), 0, 10000.0f), "rope", "[0, 4]",
                      "x holds no row");
}

// ---------------------------------------------------------------- 8.2 llama_block

TEST_CASE("8.2 llama_block: matches a Llama block written in PyTorch", "[8.2]") {
    const Layer l = reference_layer();
    const Matrix x = ref().matrix("block.x");
    CHECK_THAT(ex::llama_block(x, l.attention_norm, l.attention, l.ffn_norm, l.ffn),
               IsClose(ref().matrix("block.out"), 1e-4f)
                   .or_mistake(ref().matrix("block.q_only"), q_only)
                   .or_mistake(ref().matrix("block.no_rope"), no_rope)
                   .or_mistake(ref().matrix("block.kv_modulo"), block_kv_modulo)
                   .or_mistake(ref().matrix("block.not_causal"), block_not_causal)
                   .or_mistake_if_not_finite("NaN or inf: check the norms and the mask"));
}

TEST_CASE("8.2 llama_block: with W_o and W_down zero, x comes out unchanged", "[8.2]") {
    Layer l = reference_layer();
    l.attention.w_o = xt::zeros<float>(l.attention.w_o.shape());
    l.ffn.w_down = xt::zeros<float>(l.ffn.w_down.shape());
    const Matrix x = ref().matrix("block.x");
    CHECK_THAT(ex::llama_block(x, l.attention_norm, l.attention, l.ffn_norm, l.ffn),
               IsClose(x, 1e-6f));
}

TEST_CASE("8.2 llama_block: rows so small that RMSNorm's eps = 1e-5 matters", "[8.2]") {
    // Mean squares of about 1e-6, below eps: without eps (or with another) each norm scales
    // a row by 1 / sqrt(1e-6) instead of 1 / sqrt(1.1e-5). W_o zero keeps the stream tiny
    // for the feed-forward network's norm too; W_o as it is tests the attention's alone.
    const Layer full = reference_layer();
    Layer l = full;
    l.attention.w_o = xt::zeros<float>(l.attention.w_o.shape());
    const Matrix x = ref().matrix("block.x") * 1e-3f;
    INFO(
        "x scaled by 1e-3 (mean square about 1e-6, below eps): RMSNorm divides by "
        "sqrt(mean(x^2) + eps), eps = 1e-5, in both norms");
    CHECK_THAT(ex::llama_block(x, l.attention_norm, l.attention, l.ffn_norm, l.ffn),
               IsClose(library_block(x, l), 1e-6f));
    CHECK_THAT(ex::llama_block(x, full.attention_norm, full.attention, full.ffn_norm, full.ffn),
               IsClose(library_block(x, full), 1e-6f));
}

TEST_CASE("8.2 llama_block: x of the wrong width is refused", "[8.2]") {
    const Layer l = reference_layer();
    CHECK_THROWS_AS(ex::llama_block(Matrix(xt::ones<float>({3, 12})), l.attention_norm, l.attention,
                                    l.ffn_norm, l.ffn),
                    std::invalid_argument);
}

// ---------------------------------------------------------------- 8.3 merge_pairs

TEST_CASE("8.3 merge_pairs: the worked example, best score first", "[8.3]") {
    const std::vector<std::string> pieces{"a", "b", "c", "ab", "bc"};
    const std::vector<float> scores{0, 0, 0, 1, 2};
    CHECK_THAT(numbers(ex::merge_pairs({0, 1, 2}, pieces, scores)),
               IsClose(Vector{0, 4})
                   .or_mistake(Vector{3, 2},
                               "merged the leftmost pair that joins (ab): "
                               "merge the pair whose piece scores highest"));
}

TEST_CASE("8.3 merge_pairs: equal scores merge the leftmost pair", "[8.3]") {
    const std::vector<std::string> pieces{"a", "aa"};
    CHECK_THAT(numbers(ex::merge_pairs({0, 0, 0}, pieces, {0, 1})),
               IsClose(Vector{1, 0})
                   .or_mistake(Vector{0, 1},
                               "of equal scores the rightmost pair merged: "
                               "only a strictly higher score replaces the best"));
}

TEST_CASE("8.3 merge_pairs: the test tokenizer's texts, as the Python reference merges them",
          "[8.3]") {
    const Vocabulary& v = vocabulary();
    for (int i = 0; i < 10; ++i) {
        const std::string text = text_of("tokenizer.text" + std::to_string(i));
        INFO("text \"" << text << "\"");
        const Vector all = ref().vector("tokenizer.tokens" + std::to_string(i));
        const Vector expected = xt::view(all, xt::range(1, all.size()));  // without <s>
        const std::vector<std::size_t> start = characters(text);
        auto matcher = IsClose(expected, 0.0f);
        if (numbers(merge_leftmost(start, v)) != expected)
            matcher.or_mistake(numbers(merge_leftmost(start, v)),
                               "merged the leftmost pair that joins: merge the pair whose "
                               "piece scores highest, anywhere in the text");
        if (numbers(merge_one_pass(start, v)) != expected)
            matcher.or_mistake(numbers(merge_one_pass(start, v)),
                               "one pass from left to right: repeat until no pair joins");
        CHECK_THAT(numbers(ex::merge_pairs(start, v.pieces, v.scores)), matcher);
    }
}

TEST_CASE("8.3 merge_pairs: the pair's own piece decides, not its left token's score", "[8.3]") {
    // "x" "y" "z": "xy" scores 2, "yz" scores 1, but the token "y" itself scores 9. The
    // best pair is xy (its piece scores highest); it is also the leftmost pair, so an
    // answer that merged the leftmost pair passes here, and one that fails here made
    // another mistake.
    const std::vector<std::string> pieces{"x", "y", "z", "xy", "yz"};
    CHECK_THAT(numbers(ex::merge_pairs({0, 1, 2}, pieces, {0, 9, 0, 2, 1})),
               IsClose(Vector{3, 2}, 0)
                   .or_mistake(Vector{3, 2}, "merged the leftmost pair that joins")
                   .or_mistake(Vector{0, 4},
                               "pairs ranked by their left token's score: rank them by the score "
                               "of the piece they join into"));
}

TEST_CASE("8.3 merge_pairs: a piece that two ids share merges into the first id", "[8.3]") {
    const std::vector<std::string> pieces{"a", "aa", "aa"};
    CHECK_THAT(numbers(ex::merge_pairs({0, 0}, pieces, {0, 1, 1})),
               IsClose(Vector{1}, 0)
                   .or_mistake(Vector{2},
                               "the piece's last id was used (a map filled with "
                               "ids[piece] = id): the first id of equal pieces wins"));
}

TEST_CASE("8.3 merge_pairs: probe: a single possible merge", "[8.3]") {
    const std::vector<std::string> pieces{"a", "b", "c", "ab"};
    INFO(
        "probe: only the pair a b joins into a piece, so the answer must merge it once and "
        "stop: {ab, c}; a difference here is in finding a pair's piece or in replacing two "
        "tokens by one");
    CHECK_THAT(numbers(ex::merge_pairs({0, 1, 2}, pieces, {0, 0, 0, 1})), IsClose(Vector{3, 2}, 0));
}

TEST_CASE("8.3 merge_pairs: a pair may merge into token 0", "[8.3]") {
    // Id 0 is a piece like any other: "ab" is token 0 here.
    const std::vector<std::string> pieces{"ab", "a", "b"};
    INFO("pieces {\"ab\", \"a\", \"b\"}: a b ({1, 2}) joins into \"ab\", token 0");
    CHECK_THAT(numbers(ex::merge_pairs({1, 2}, pieces, {1, 0, 0})), IsClose(Vector{0}, 0));
}

TEST_CASE("8.3 merge_pairs: no token or one token stays as it is", "[8.3]") {
    const std::vector<std::string> pieces{"a", "aa"};
    CHECK(ex::merge_pairs({}, pieces, {0, 1}).empty());
    CHECK(ex::merge_pairs({1}, pieces, {0, 1}) == std::vector<std::size_t>{1});
}

TEST_CASE("8.3 merge_pairs: mismatched sizes and unknown tokens are refused", "[8.3]") {
    const std::vector<std::string> pieces{"a", "aa"};
    CHECK_THROWS_MATCHES(ex::merge_pairs({0, 0}, pieces, {0}), std::invalid_argument,
                         Refused("merge_pairs"));
    CHECK_THROWS_MATCHES(ex::merge_pairs({0, 5}, pieces, {0, 1}), std::invalid_argument,
                         Refused("merge_pairs"));
    // The first id past the end, alone and beside a valid one: ids run 0 .. size - 1.
    INFO(
        "merge_pairs({2}, pieces of 2 tokens): token 2 equals the vocabulary's size, one past "
        "its last id 1, and must be refused (a bound checked with > instead of >=?)");
    CHECK_THROWS_MATCHES(ex::merge_pairs({2}, pieces, {0, 1}), std::invalid_argument,
                         Refused("merge_pairs"));
    INFO("merge_pairs({0, 2}, pieces of 2 tokens): token 2 equals the vocabulary's size");
    CHECK_THROWS_MATCHES(ex::merge_pairs({0, 2}, pieces, {0, 1}), std::invalid_argument,
                         Refused("merge_pairs"));
}

// ---------------------------------------------------------------- 8.4 sample_top_p

TEST_CASE("8.4 sample_top_p: the worked example", "[8.4]") {
    const Vector logits{0.0f, std::log(3.0f), std::log(6.0f)};
    const Vector got{static_cast<float>(ex::sample_top_p(logits, 1.0f, 0.8f, 0.5f)),
                     static_cast<float>(ex::sample_top_p(logits, 1.0f, 0.8f, 0.7f))};
    // Both mistakes draw {2, 2} here: neither is named from this input alone.
    CHECK_THAT(got, IsClose(Vector{2, 1})
                        .or_mistake(Vector{2, 2}, one_short)
                        .or_mistake(Vector{2, 2}, ascending));
}

TEST_CASE("8.4 sample_top_p: the draws of 20 coins from 0 to 0.95", "[8.4]") {
    const Vector logits = ref().vector("top_p.logits");
    const Vector coins = ref().vector("top_p.coins");
    Vector got = xt::zeros<float>({coins.size()});
    for (std::size_t i = 0; i < coins.size(); ++i)
        got(i) = static_cast<float>(ex::sample_top_p(logits, 0.7f, 0.8f, coins(i)));
    CHECK_THAT(got, IsClose(ref().vector("top_p.out"), 0.0f)
                        .or_mistake(ref().vector("top_p.not_renormalised"), not_renormalised)
                        .or_mistake(ref().vector("top_p.ascending"), ascending)
                        .or_mistake(ref().vector("top_p.one_short"), one_short)
                        .or_mistake(ref().vector("top_p.no_temperature"), no_temperature));
}

TEST_CASE("8.4 sample_top_p: probe: one token, or one certain token", "[8.4]") {
    INFO(
        "probe: with one token, or one token whose probability is 1 (the others e^-100 "
        "smaller), every coin must give that token; a difference here is in the softmax or the "
        "order of the tokens");
    const Vector got{static_cast<float>(ex::sample_top_p(Vector{0.5f}, 1.0f, 0.9f, 0.3f)),
                     static_cast<float>(ex::sample_top_p(Vector{0, 100, 0}, 1.0f, 0.9f, 0.99f)),
                     static_cast<float>(ex::sample_top_p(Vector{0, 100, 0}, 0.5f, 0.5f, 0.0f))};
    CHECK_THAT(got, IsClose(Vector{0, 1, 1}, 0));
}

TEST_CASE("8.4 sample_top_p: top_p 1 keeps every token", "[8.4]") {
    const Vector logits{1.0f, 1.0f, 1.0f, 1.0f};  // 0.25 each: coin 0.9 lands in the last
    CHECK(ex::sample_top_p(logits, 1.0f, 1.0f, 0.9f) == 3);
    CHECK(ex::sample_top_p(logits, 1.0f, 1.0f, 0.1f) == 0);
}

TEST_CASE("8.4 sample_top_p: a mass exactly top_p is not above it: the next token is kept too",
          "[8.4]") {
    // Four equal logits: 0.25 each, exactly. Tokens 0 and 1 reach 0.5 = top_p, which is not
    // above it, so token 2 is kept as well (mass 0.75), as llama2.c does. Coin 0.9: r = 0.675,
    // past tokens 0 and 1 (0.5) and into token 2. Cutting at >= keeps two: r = 0.45, token 1.
    // Coins 0.1 and 0.6 give tokens 0 and 1 either way; equal probabilities walked from the
    // higher id give 3, 2, 1.
    const Vector logits{0.0f, 0.0f, 0.0f, 0.0f};
    Vector got = xt::zeros<float>({3});
    const float coins[] = {0.1f, 0.6f, 0.9f};
    for (std::size_t i = 0; i < 3; ++i)
        got(i) = static_cast<float>(ex::sample_top_p(logits, 1.0f, 0.5f, coins[i]));
    // The coin scaled by top_p draws {0, 1, 1} here too: the formulas tell them apart on the
    // other tests' draws.
    CHECK_THAT(got, IsClose(Vector{0, 1, 2}, 0)
                        .or_mistake(Vector{3, 2, 1}, higher_id_first)
                        .or_mistake(Vector{0, 1, 1}, cut_at_reach)
                        .or_mistake(Vector{0, 1, 1}, coin_times_top_p));
}

TEST_CASE("8.4 sample_top_p: a coin just below 1 draws the least likely token kept", "[8.4]") {
    // The last kept token's share ends at coin = 1; the coin 1 - 2^-24 lands in it. In float,
    // the walk can end a hair short of the coin (the sum of the kept probabilities is rounded
    // one way, the coin minus them another), and the answer must still be that token, not
    // one past the kept ones or one before. The inputs: seeded random logits, and among
    // them some where chapter 01's softmax in float leaves the walk short (found below).
    const float coin = std::nextafter(1.0f, 0.0f);
    attn::Rng rng(84);
    std::vector<Vector> inputs;
    std::size_t short_walks = 0;
    for (int trial = 0; trial < 20000 && (inputs.size() < 300 || short_walks < 5); ++trial) {
        const std::size_t n = 2 + static_cast<std::size_t>(trial % 7);
        const Vector logits = attn::random_normal(n, rng, 2.0f);
        const Vector p = attn::softmax(logits);
        std::vector<std::size_t> order(n);
        std::iota(order.begin(), order.end(), std::size_t{0});
        std::stable_sort(order.begin(), order.end(),
                         [&](std::size_t a, std::size_t b) { return p(a) > p(b); });
        float mass = 0.0f, r = 0.0f;
        for (std::size_t i : order) mass += p(i);  // top_p 1: every token kept
        r = coin * mass;
        for (std::size_t i : order) r -= p(i);
        const bool walk_short = r >= 0.0f;
        if (walk_short) ++short_walks;
        if (inputs.size() < 300 || (walk_short && short_walks <= 5)) inputs.push_back(logits);
    }
    REQUIRE(short_walks >= 1);  // the search itself: the seed must give such an input
    for (const Vector& logits : inputs) {
        // The expected token, in double: the least likely (the higher id among equals).
        std::size_t last = 0;
        for (std::size_t i = 1; i < logits.size(); ++i)
            if (logits(i) <= logits(last)) last = i;
        INFO("logits " << attn::format_vector(logits, 6)
                       << ", temperature 1, top_p 1 (every token kept), coin 1 - 2^-24: the "
                          "least likely token, "
                       << last);
        CHECK(ex::sample_top_p(logits, 1.0f, 1.0f, coin) == last);
    }
}

TEST_CASE("8.4 sample_top_p: bad arguments are refused", "[8.4]") {
    CHECK_THROWS_MATCHES(ex::sample_top_p(Vector{1, 2}, 0.0f, 0.9f, 0.5f), std::invalid_argument,
                         Refused("sample_top_p"));
    CHECK_THROWS_MATCHES(ex::sample_top_p(Vector{1, 2}, 1.0f, 0.0f, 0.5f), std::invalid_argument,
                         Refused("sample_top_p"));
    CHECK_THROWS_MATCHES(ex::sample_top_p(Vector{1, 2}, 1.0f, 1.5f, 0.5f), std::invalid_argument,
                         Refused("sample_top_p"));
    CHECK_SHAPE_ERROR(ex::sample_top_p(Vector(xt::zeros<float>({0})), 1.0f, 0.9f, 0.5f),
                      "sample_top_p", "[0]", "no logits");
}

// ---------------------------------------------------------------- probes and every size
//
// A probe switches one path of the block off, so a failure says which path is wrong. The
// sweeps run each exercise on inputs of growing size against chapter 08's own functions; a
// failure shows the smallest input that fails, whole.

using attn::test::check_every_size;
using attn::test::Dims;
using attn::test::named;
using attn::test::readable_matrix;
using attn::test::readable_vector;
using attn::test::Trial;

TEST_CASE("8.2 llama_block: probes: the residual stream, one token, each path alone, then both",
          "[8.2]") {
    const Matrix x = ref().matrix("block.x");
    attn::test::ProbeChain probes;
    const auto probe = [&](const std::string& label, const std::string& isolates,
                           const Matrix& input, const Layer& l) {
        probes.check(
            label, isolates,
            [&] {
                return ex::llama_block(input, l.attention_norm, l.attention, l.ffn_norm, l.ffn);
            },
            IsClose(library_block(input, l), 1e-4f));
    };
    Layer no_ffn = reference_layer();
    no_ffn.ffn.w_down = xt::zeros<float>(no_ffn.ffn.w_down.shape());
    Layer no_attention = reference_layer();
    no_attention.attention.w_o = xt::zeros<float>(no_attention.attention.w_o.shape());
    Layer neither = no_attention;
    neither.ffn.w_down = xt::zeros<float>(neither.ffn.w_down.shape());
    probe("both paths off (W_o and W_down zero)",
          "neither path adds anything, so the block must return x itself: a difference here is "
          "in the residual stream, what each residual adds onto (x, then h = x + "
          "Attn(RMSNorm(x)); not a normed input, which only the paths read)",
          x, neither);
    probe("one token at position 0, the feed-forward network off (W_down zero)",
          "RoPE turns nothing at position 0 and the token sees only itself, so the block must "
          "return x + (RMSNorm(x) W_v) W_o: a difference here is in the attention norm "
          "(RMSNorm with attention_norm), W_v, W_o or the residual onto x",
          Matrix(xt::view(x, xt::range(0, 1), xt::all())), no_ffn);
    probe("the attention off (W_o zero)",
          "the attention adds nothing, so h = x and the block must return x + "
          "SwiGLU(RMSNorm(x)): a difference here is in the feed-forward path (RMSNorm with "
          "ffn_norm, SwiGLU: silu(z W_gate) * (z W_up), then W_down) or its residual",
          x, no_attention);
    probe("the feed-forward network off (W_down zero)",
          "the block must return h = x + Attn(RMSNorm(x)) unchanged: the norm, W_v and W_o "
          "being right, a difference here is in the attention over several tokens: RoPE on the "
          "queries and keys of every head (not the values), the key/value head of each query "
          "head, the causal mask",
          x, no_ffn);
    probe("both paths on",
          "each path is right alone, so what is wrong is how they connect: the feed-forward "
          "network reads RMSNorm(h) with ffn_norm, h = x + Attn(RMSNorm(x)) being the stream "
          "after the attention's residual (not x), and its result is added to h",
          x, reference_layer());
}

TEST_CASE("8.1 rope: every T from 1, widths 2 and 4, first positions 0..2", "[8.1]") {
    std::vector<std::array<std::size_t, 3>> sizes;  // T, d, first position
    for (std::size_t T = 1; T <= 3; ++T)
        for (std::size_t d = 2; d <= 4; d += 2)
            for (std::size_t first = 0; first <= 2; ++first) sizes.push_back({T, d, first});
    check_every_size<2>(
        sizes,
        [](const std::array<std::size_t, 3>& s, Trial<2>& t) {
            const Matrix x = readable_matrix(s[0], s[1], 1);
            t.input = "T = " + std::to_string(s[0]) + ", d = " + std::to_string(s[1]) +
                      ", first_position = " + std::to_string(s[2]) + ", theta = 10000\n" +
                      named("x", x);
            t.expected = attn::rope(x, s[2], 10000.0f);
            t.actual = ex::rope(x, s[2], 10000.0f);
        },
        1e-4f);
}

TEST_CASE("8.2 llama_block: every T from 1, heads of width 2, grouped or not", "[8.2]") {
    std::vector<std::array<std::size_t, 3>> sizes;  // T, n_heads, n_kv_heads
    for (std::size_t T = 1; T <= 3; ++T)
        for (const auto& h : {std::array<std::size_t, 2>{1, 1}, {2, 2}, {2, 1}})
            sizes.push_back({T, h[0], h[1]});
    check_every_size<2>(
        sizes,
        [](const std::array<std::size_t, 3>& s, Trial<2>& t) {
            const std::size_t d = 2 * s[1], d_kv = 2 * s[2], d_ff = 3;
            Layer l;
            l.attention_norm = readable_vector(d, 2);
            l.ffn_norm = readable_vector(d, 3);
            l.attention = {readable_matrix(d, d, 4),
                           readable_matrix(d, d_kv, 5),
                           readable_matrix(d, d_kv, 6),
                           readable_matrix(d, d, 7),
                           s[1],
                           s[2]};
            l.ffn = {readable_matrix(d, d_ff, 8), readable_matrix(d, d_ff, 9),
                     readable_matrix(d_ff, d, 10)};
            const Matrix x = readable_matrix(s[0], d, 11);
            t.input =
                "T = " + std::to_string(s[0]) + ", d_model = " + std::to_string(d) +
                ", n_heads = " + std::to_string(s[1]) + ", n_kv_heads = " + std::to_string(s[2]) +
                ", d_ff = 3\n" + named("x", x) + "\n" + named("attention_norm", l.attention_norm) +
                "\n" + named("attention.w_q", l.attention.w_q) + "\n" +
                named("attention.w_k", l.attention.w_k) + "\n" +
                named("attention.w_v", l.attention.w_v) + "\n" +
                named("attention.w_o", l.attention.w_o) + "\n" + named("ffn_norm", l.ffn_norm) +
                "\n" + named("ffn.w_gate", l.ffn.w_gate) + "\n" + named("ffn.w_up", l.ffn.w_up) +
                "\n" + named("ffn.w_down", l.ffn.w_down);
            t.expected = library_block(x, l);
            t.actual = ex::llama_block(x, l.attention_norm, l.attention, l.ffn_norm, l.ffn);
        },
        1e-3f);
}

TEST_CASE(
    "8.4 sample_top_p: every vocabulary size from 1, top_p from 0.3 to 0.9, 20 coins "
    "(element i: the token for coin i / 20)",
    "[8.4]") {
    std::vector<std::array<std::size_t, 2>> sizes;  // vocabulary, top_p in tenths
    for (std::size_t n = 1; n <= 5; ++n)
        for (std::size_t tenths : {9u, 7u, 5u, 3u}) sizes.push_back({n, tenths});
    sizes.push_back({5, 107});  // top_p 0.7, logits hundreds apart
    check_every_size<1>(
        sizes,
        [](const std::array<std::size_t, 2>& s, Trial<1>& t) {
            const Vector logits = readable_vector(s[0], 12) * (s[1] > 100 ? 200.0f : 1.0f);
            const float top_p = static_cast<float>(s[1] % 100) / 10.0f, temperature = 0.8f;
            const Vector p = attn::softmax(logits / temperature);
            t.input = "temperature = 0.8, top_p = " + std::to_string(top_p).substr(0, 3) + "\n" +
                      named("logits", logits) + "\n" + named("probabilities", p);
            t.expected = xt::zeros<float>({20});
            t.actual = xt::zeros<float>({20});
            for (std::size_t i = 0; i < 20; ++i) {
                const float coin = static_cast<float>(i) / 20.0f;
                t.expected(i) =
                    static_cast<float>(attn::sample_top_p(logits, {temperature, top_p}, coin));
                t.actual(i) =
                    static_cast<float>(ex::sample_top_p(logits, temperature, top_p, coin));
            }
        },
        0);
}
