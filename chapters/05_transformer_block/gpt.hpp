/// \file
/// \brief Chapter 05: a GPT built from transformer blocks. Token and position embeddings,
/// N pre-LN blocks, a final layer norm, logits through the tied token embedding; its
/// parameter count; greedy and temperature sampling; text generation.
///
/// The model type is what the later chapters build on: its configuration is one struct,
/// and its weights can be initialised, set by hand or loaded.
#pragma once

#include "chapters/05_transformer_block/transformer_block.hpp"
#include "common/random.hpp"
#include "common/tensor.hpp"

#include <cstddef>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace attn {

/// A GPT's shape.
struct GptConfig {
    std::size_t vocab_size = 0;  ///< how many different tokens
    std::size_t context = 0;     ///< the longest sequence it reads (learned positions)
    std::size_t d_model = 0;     ///< the width of the residual stream
    std::size_t n_layers = 0;    ///< blocks
    std::size_t n_heads = 0;     ///< query heads per block
    std::size_t n_kv_heads = 0;  ///< key/value heads per block (n_heads: plain MHA)
    std::size_t d_ff = 0;        ///< feed-forward width, 4 d_model in GPT-2
    bool bias = true;            ///< biases in the attention projections (GPT-2: yes)
};

/// GPT-2 small: 12 layers, d_model 768, 12 heads, vocabulary 50257, context 1024.
GptConfig gpt2_small();

/// Throws std::invalid_argument naming `caller` when a size is 0, the heads do not divide
/// d_model or the key/value heads do not divide the heads.
void check_config(const GptConfig& c, const char* caller);

/// Every weight of a GPT.
struct GptWeights {
    Matrix token_embedding;            ///< `[vocab_size, d_model]`, also the output layer (tied)
    Matrix position_embedding;         ///< `[context, d_model]`
    std::vector<BlockWeights> blocks;  ///< n_layers blocks
    Vector ln_f_gain;                  ///< `[d_model]`, the final layer norm
    Vector ln_f_bias;                  ///< `[d_model]`
};

/// GPT-2's initialisation (seeded): embeddings and weights \f$N(0, 0.02)\f$, the
/// projections into the residual stream scaled by \f$1/\sqrt{2 n_{layers}}\f$, biases 0,
/// norm gains 1.
GptWeights gpt2_init(const GptConfig& c, Rng& rng);

/// Checks the configuration (check_config()) and that every weight, in every block, has the
/// shape it asks for (attention biases present exactly when `bias`); throws
/// std::invalid_argument naming `caller` and the weight (e.g. `blocks[1].attention.w_k`)
/// with both shapes, or the count that differs (blocks, heads). The Gpt constructor's
/// check, for code that holds weights without a Gpt (chapter 09's training).
void check_weights(const GptConfig& c, const GptWeights& w, const char* caller);

/// Throws std::invalid_argument naming `caller` when `tokens` is empty or holds an id that
/// is not below vocab_size (naming its place and value, as `name[3] = 70`).
void check_tokens(const std::vector<std::size_t>& tokens, std::size_t vocab_size,
                  const char* caller, std::string_view name = "tokens");

/// A GPT: a configuration and weights that fit it.
class Gpt {
public:
    /// Checks the configuration and that every weight fits it (check_weights()); throws
    /// std::invalid_argument naming the weight, e.g. `blocks[1].attention.w_k`, and both
    /// shapes otherwise.
    Gpt(GptConfig config, GptWeights weights);

    /// The model's shape.
    const GptConfig& config() const { return config_; }
    /// The model's weights.
    const GptWeights& weights() const { return weights_; }

    /// The next-token logits at every position: embeddings, the blocks, the final norm,
    /// then the tied embedding, \f$\mathrm{logits} = h\, E^\top\f$.
    /// \param tokens 1..context token ids, each below vocab_size
    /// \return `[T, vocab_size]`, row t scoring the token that follows tokens 0..t
    Matrix logits(const std::vector<std::size_t>& tokens) const;

    /// The input of the first block: token embedding plus position embedding, for tokens
    /// at positions `first_position`, `first_position + 1`, ...
    /// \param tokens token ids, each below vocab_size
    /// \param first_position the position of tokens[0]; the last must stay below context
    /// \param caller the function named in an error
    /// \return `[tokens.size(), d_model]`
    Matrix embed(const std::vector<std::size_t>& tokens, std::size_t first_position,
                 const char* caller = "attn::Gpt::embed") const;

    /// The output of the last block to next-token logits: final layer norm, then the tied
    /// embedding. \param h `[T, d_model]` \return `[T, vocab_size]`
    Matrix output_logits(const Matrix& h) const;

private:
    GptConfig config_;
    GptWeights weights_;
};

/// One named part of a parameter count and its size.
struct ParameterPart {
    std::string name;   ///< what the part is, e.g. "position embedding"
    std::size_t count;  ///< how many numbers it holds
};

/// The parameters of a configuration, part by part (tied output layer: no extra part).
std::vector<ParameterPart> count_parameters(const GptConfig& c);

/// The sum of count_parameters().
std::size_t total_parameters(const GptConfig& c);

/// The token with the highest logit (the first of equal ones).
/// \param logits `[vocab_size]`
std::size_t greedy_token(const Vector& logits);

/// A token drawn from \f$\mathrm{softmax}(\mathrm{logits} / \tau)\f$; \f$\tau \to 0\f$ is
/// greedy, \f$\tau = 1\f$ the model's own distribution, larger flatter.
/// \param logits `[vocab_size]`
/// \param temperature \f$\tau > 0\f$
/// \param rng the random numbers
std::size_t sample_token(const Vector& logits, float temperature, Rng& rng);

/// Throws std::invalid_argument naming `caller` when the prompt is empty or `count` new
/// tokens after it would outgrow the model's context.
void check_generation(const Gpt& model, const std::vector<std::size_t>& prompt, std::size_t count,
                      const char* caller);

/// Generates `count` tokens after `prompt`, recomputing the logits of the whole sequence
/// at every step (chapter 06 makes this fast). Temperature 0 is greedy. Stops with an
/// error if the sequence would outgrow the context.
std::vector<std::size_t> generate(const Gpt& model, std::vector<std::size_t> prompt,
                                  std::size_t count, float temperature, Rng& rng);

/// A character-level tokenizer: token i is the i-th character of the alphabet.
class CharTokenizer {
public:
    /// \param alphabet distinct characters
    explicit CharTokenizer(std::string alphabet);
    /// The number of tokens: the alphabet's length.
    std::size_t vocab_size() const { return alphabet_.size(); }
    /// Throws std::invalid_argument naming a character outside the alphabet.
    std::vector<std::size_t> encode(const std::string& text) const;
    /// Throws std::invalid_argument for an id outside the vocabulary.
    std::string decode(const std::vector<std::size_t>& tokens) const;

private:
    std::string alphabet_;
};

}  // namespace attn
