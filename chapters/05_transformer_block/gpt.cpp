#include "chapters/05_transformer_block/gpt.hpp"

#include "chapters/01_single_head_attention/single_head_attention.hpp"
#include "common/matmul.hpp"
#include "common/shape.hpp"

#include <xtensor/xbuilder.hpp>
#include <xtensor/xsort.hpp>
#include <xtensor/xview.hpp>

#include <algorithm>
#include <cmath>
#include <limits>
#include <string>
#include <tuple>
#include <utility>

namespace attn {

GptConfig gpt2_small() {
    return {50257, 1024, 768, 12, 12, 12, 3072, true};
}

void check_config(const GptConfig& c, const char* caller) {
    if (c.vocab_size == 0 || c.context == 0 || c.d_model == 0 || c.n_layers == 0 || c.d_ff == 0) {
        invalid_argument(
            caller, "vocab_size, context, d_model, n_layers and d_ff must be at least 1, got " +
                        std::to_string(c.vocab_size) + ", " + std::to_string(c.context) + ", " +
                        std::to_string(c.d_model) + ", " + std::to_string(c.n_layers) + ", " +
                        std::to_string(c.d_ff));
    }
    head_size(c.d_model, c.n_heads, caller);
    check_kv_heads(caller, c.n_heads, c.n_kv_heads);
}

GptWeights gpt2_init(const GptConfig& c, Rng& rng) {
    check_config(c, "attn::gpt2_init");
    GptWeights w;
    w.token_embedding = random_normal(c.vocab_size, c.d_model, rng, 0.02f);
    w.position_embedding = random_normal(c.context, c.d_model, rng, 0.02f);
    for (std::size_t l = 0; l < c.n_layers; ++l)
        w.blocks.push_back(
            gpt2_block(c.d_model, c.n_heads, c.n_kv_heads, c.d_ff, c.n_layers, rng, c.bias));
    w.ln_f_gain = xt::ones<float>({c.d_model});
    w.ln_f_bias = xt::zeros<float>({c.d_model});
    return w;
}

namespace {

// One block's weights against the configuration. Gpt checks every block before it can run:
// a bad block l found only when it runs would leave blocks 0..l-1 of a KV cache (chapter 06)
// one token longer than the rest.
void check_block_weights(const char* fn, std::size_t l, const BlockWeights& b, const GptConfig& c) {
    const std::string block = "blocks[" + std::to_string(l) + "].";
    const auto name = [&](const char* weight) { return block + weight; };
    const MultiHeadWeights& a = b.attention;
    if (a.n_heads != c.n_heads || a.n_kv_heads != c.n_kv_heads) {
        invalid_argument(fn, name("attention") + " has n_heads = " + std::to_string(a.n_heads) +
                                 " and n_kv_heads = " + std::to_string(a.n_kv_heads) +
                                 ", the configuration " + std::to_string(c.n_heads) + " and " +
                                 std::to_string(c.n_kv_heads));
    }
    const std::size_t d = c.d_model;
    for (const auto& [weight, v] :
         {std::pair{"ln1_gain", &b.ln1_gain}, std::pair{"ln1_bias", &b.ln1_bias},
          std::pair{"ln2_gain", &b.ln2_gain}, std::pair{"ln2_bias", &b.ln2_bias}})
        check_shape(fn, name(weight), *v, {exactly("d_model", d)});
    // The configuration says whether the projections have biases (count_parameters counts
    // them): all four, or none.
    check_attention_weights(fn, d, a, block + "attention.",
                            c.bias ? Biases::required : Biases::none);
    check_shape(fn, name("ffn.w1"), b.ffn.w1, {exactly("d_model", d), exactly("d_ff", c.d_ff)});
    check_shape(fn, name("ffn.b1"), b.ffn.b1, {exactly("d_ff", c.d_ff)});
    check_shape(fn, name("ffn.w2"), b.ffn.w2, {exactly("d_ff", c.d_ff), exactly("d_model", d)});
    check_shape(fn, name("ffn.b2"), b.ffn.b2, {exactly("d_model", d)});
}

}  // namespace

void check_weights(const GptConfig& c, const GptWeights& w, const char* fn) {
    check_config(c, fn);
    const std::size_t d = c.d_model;
    check_shape(fn, "token_embedding", w.token_embedding,
                {exactly("vocab_size", c.vocab_size), exactly("d_model", d)});
    check_shape(fn, "position_embedding", w.position_embedding,
                {exactly("context", c.context), exactly("d_model", d)});
    check_shape(fn, "ln_f_gain", w.ln_f_gain, {exactly("d_model", d)});
    check_shape(fn, "ln_f_bias", w.ln_f_bias, {exactly("d_model", d)});
    if (w.blocks.size() != c.n_layers) {
        invalid_argument(
            fn, "the weights hold " + std::to_string(w.blocks.size()) +
                    " blocks, the configuration asks for n_layers = " + std::to_string(c.n_layers));
    }
    for (std::size_t l = 0; l < w.blocks.size(); ++l) check_block_weights(fn, l, w.blocks[l], c);
}

Gpt::Gpt(GptConfig config, GptWeights weights) : config_(config), weights_(std::move(weights)) {
    check_weights(config_, weights_, "attn::Gpt");
}

void check_tokens(const std::vector<std::size_t>& tokens, std::size_t vocab_size,
                  const char* caller, std::string_view name) {
    if (tokens.empty())
        invalid_argument(caller, "argument '" + std::string(name) + "' holds no token");
    for (std::size_t t = 0; t < tokens.size(); ++t) {
        check_index(caller, std::string(name) + "[" + std::to_string(t) + "]", tokens[t],
                    vocab_size, "tokens in the vocabulary");
    }
}

Matrix Gpt::embed(const std::vector<std::size_t>& tokens, std::size_t first_position,
                  const char* caller) const {
    check_tokens(tokens, config_.vocab_size, caller);
    if (first_position + tokens.size() > config_.context) {
        invalid_argument(caller, std::to_string(first_position + tokens.size()) +
                                     " tokens do not fit in the context of " +
                                     std::to_string(config_.context));
    }
    Matrix x = xt::zeros<float>({tokens.size(), config_.d_model});
    for (std::size_t t = 0; t < tokens.size(); ++t) {
        // Chapter 02 showed attention cannot see order: the position is added to the token.
        xt::row(x, t) = xt::row(weights_.token_embedding, tokens[t]) +
                        xt::row(weights_.position_embedding, first_position + t);
    }
    return x;
}

Matrix Gpt::output_logits(const Matrix& h) const {
    check_shape("attn::Gpt::output_logits", "h", h,
                {any("T"), exactly("d_model", config_.d_model)});
    // h E^T: E read transposed where it lies, as chapter 09's training computes it.
    return matmul(layer_norm(h, weights_.ln_f_gain, weights_.ln_f_bias), weights_.token_embedding,
                  Read::as_stored, Read::transposed);
}

Matrix Gpt::logits(const std::vector<std::size_t>& tokens) const {
    constexpr const char* fn = "attn::Gpt::logits";
    Matrix x = embed(tokens, 0, fn);
    // Each block with chapter 04's causal attention. The constructor checked every weight,
    // so the blocks need not check them again.
    for (const BlockWeights& b : weights_.blocks) {
        x = transformer_block(x, b, [&](const Matrix& attention_input) {
            return multi_head_attention(attention_input, b.attention, true, fn).output;
        });
    }
    return output_logits(x);
}

std::vector<ParameterPart> count_parameters(const GptConfig& c) {
    check_config(c, "attn::count_parameters");
    const std::size_t d = c.d_model, d_kv = c.n_kv_heads * (d / c.n_heads), L = c.n_layers;
    const std::size_t attention = d * d + 2 * d * d_kv + d * d + (c.bias ? 2 * d + 2 * d_kv : 0);
    const std::size_t mlp = d * c.d_ff + c.d_ff + c.d_ff * d + d;
    return {{"token embedding (also the output layer)", c.vocab_size * d},
            {"position embedding", c.context * d},
            {"layer norms in the blocks", L * 4 * d},
            {"attention (W_q, W_k, W_v, W_o and biases)", L * attention},
            {"feed-forward (W_1, b_1, W_2, b_2)", L * mlp},
            {"final layer norm", 2 * d}};
}

std::size_t total_parameters(const GptConfig& c) {
    std::size_t total = 0;
    for (const ParameterPart& p : count_parameters(c)) total += p.count;
    return total;
}

std::size_t greedy_token(const Vector& logits) {
    check_shape("attn::greedy_token", "logits", logits, {any("vocab_size")});
    // The first largest logit; a NaN is never the largest (all NaN: token 0).
    // Through a pointer: one pass over the vocabulary (32000 logits at stories15M's size)
    // for every token generated.
    const float* z = logits.data();
    const std::size_t n = logits.size();
    std::size_t best = n;
    for (std::size_t i = 0; i < n; ++i)
        if (!std::isnan(z[i]) && (best == n || z[i] > z[best])) best = i;
    return best == n ? 0 : best;
}

std::size_t sample_token(const Vector& logits, float temperature, Rng& rng) {
    constexpr const char* fn = "attn::sample_token";
    check_shape(fn, "logits", logits, {any("vocab_size")});
    if (!(temperature > 0.0f)) {
        invalid_argument(fn, "temperature must be above 0, got " + std::to_string(temperature) +
                                 " (for greedy decoding use greedy_token)");
    }
    const Vector p = softmax(logits / temperature);
    float r = rng.uniform();
    for (std::size_t i = 0; i < p.size(); ++i) {
        if (r < p(i)) return i;
        r -= p(i);
    }
    return p.size() - 1;  // r landed in the rounding left over at the end
}

void check_generation(const Gpt& model, const std::vector<std::size_t>& prompt, std::size_t count,
                      const char* caller) {
    check_tokens(prompt, model.config().vocab_size, caller, "prompt");
    if (prompt.size() + count > model.config().context) {
        invalid_argument(caller, std::to_string(prompt.size()) + " prompt tokens and " +
                                     std::to_string(count) +
                                     " new ones do not fit in the context of " +
                                     std::to_string(model.config().context));
    }
}

std::vector<std::size_t> generate(const Gpt& model, std::vector<std::size_t> prompt,
                                  std::size_t count, float temperature, Rng& rng) {
    check_generation(model, prompt, count, "attn::generate");
    for (std::size_t step = 0; step < count; ++step) {
        const Matrix logits = model.logits(prompt);  // the whole sequence, again
        const Vector last = xt::row(logits, logits.shape(0) - 1);
        prompt.push_back(temperature == 0.0f ? greedy_token(last)
                                             : sample_token(last, temperature, rng));
    }
    return prompt;
}

CharTokenizer::CharTokenizer(std::string alphabet) : alphabet_(std::move(alphabet)) {
    for (std::size_t i = 0; i < alphabet_.size(); ++i) {
        if (alphabet_.find(alphabet_[i]) != i) {
            std::string message = "the alphabet holds '";
            message += alphabet_[i];
            message += "' twice";
            invalid_argument("attn::CharTokenizer", message);
        }
    }
    if (alphabet_.empty()) invalid_argument("attn::CharTokenizer", "the alphabet is empty");
}

std::vector<std::size_t> CharTokenizer::encode(const std::string& text) const {
    std::vector<std::size_t> tokens;
    for (char ch : text) {
        const std::size_t i = alphabet_.find(ch);
        if (i == std::string::npos) {
            std::string message = "character '";
            message += ch;
            message += "' is not in the alphabet";
            invalid_argument("attn::CharTokenizer::encode", message);
        }
        tokens.push_back(i);
    }
    return tokens;
}

std::string CharTokenizer::decode(const std::vector<std::size_t>& tokens) const {
    std::string text;
    for (std::size_t t : tokens) {
        check_index("attn::CharTokenizer::decode", "token", t, alphabet_.size(),
                    "characters in the alphabet");
        text += alphabet_[t];
    }
    return text;
}

}  // namespace attn
