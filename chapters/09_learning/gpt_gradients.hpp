/// \file
/// \brief Chapter 09: the loss of the chapter-05 GPT on a batch of sequences and its
/// gradient for every weight, the backward functions of backward.hpp chained in the
/// reverse order of the forward pass.
#pragma once

#include "chapters/05_transformer_block/gpt.hpp"
#include "chapters/09_learning/backward.hpp"

#include <cstddef>
#include <vector>

namespace attn {

/// One training example: tokens and, at each position, the token that should come next.
struct Sequence {
    std::vector<std::size_t> inputs;   ///< T token ids
    std::vector<std::size_t> targets;  ///< T token ids: targets[t] follows inputs[0..t]
};

/// A batch as the forward pass takes it: each sequence's inputs, and every target of the
/// batch in one list, sequence after sequence (cross_entropy()'s rows).
struct BatchTokens {
    std::vector<std::vector<std::size_t>> inputs;  ///< per sequence, its T input tokens
    std::vector<std::size_t> targets;              ///< the N targets of the whole batch
};

/// Splits a batch into its inputs and its targets. Throws std::invalid_argument naming
/// `caller` when the batch is empty, a sequence has no token or not as many targets as
/// inputs, or a target is not below vocab_size (the inputs are the forward pass's to check).
BatchTokens batch_tokens(const std::vector<Sequence>& batch, std::size_t vocab_size,
                         const char* caller);

/// What one block's backward pass needs from its forward pass: what chapter 05's
/// transformer_block() keeps when asked, and what its attention kept (the heads of each
/// sequence). Inference throws each away as soon as the next is made. The rows are the
/// batch's N tokens, sequence after sequence.
struct GptBlockActivations : BlockActivations {
    MultiHeadForward attention;  ///< its heads (per sequence) and merged heads
};

/// The forward pass of a whole GPT over a batch with everything the backward pass needs.
struct GptActivations {
    std::vector<std::size_t> starts;          ///< sequence s is rows starts[s] .. starts[s+1] - 1
    std::vector<std::size_t> tokens;          ///< the N input tokens, sequence after sequence
    std::vector<GptBlockActivations> blocks;  ///< one per block
    Matrix x;                                 ///< `[N, d_model]`, the last block's output
    Matrix final_norm;                        ///< `[N, d_model]`, the final layer norm's output
    Matrix logits;                            ///< `[N, vocab_size]`
};

/// Chapter 05's Gpt::logits() for a batch of sequences at once, keeping the activations: the
/// same logits as each sequence alone. Their rows are packed into one matrix, so that every
/// layer but attention is one matrix product for the whole batch. Each block is chapter
/// 05's transformer_block() itself, its attention multi_head_attention_forward(), which runs
/// per sequence.
/// \param model the GPT \param sequences each 1..context ids below vocab_size
/// \param caller the function named in an error (no sequence, an empty one, a token outside
/// the vocabulary, too many)
GptActivations gpt_forward_batch(const Gpt& model,
                                 const std::vector<std::vector<std::size_t>>& sequences,
                                 const char* caller = "attn::gpt_forward_batch");

/// gpt_forward_batch() of one sequence. \param model the GPT \param tokens 1..context ids
/// \param caller the function named in an error
GptActivations gpt_forward(const Gpt& model, const std::vector<std::size_t>& tokens,
                           const char* caller = "attn::gpt_forward");

/// The loss of a batch and its gradient.
struct GptGradients {
    double loss = 0.0;  ///< the mean cross-entropy over every position of the batch
    /// \f$\partial \mathrm{loss} / \partial w\f$ for every weight w, in the weights' own shapes
    /// (empty biases stay empty). The token embedding's gradient adds its two uses: the
    /// rows looked up at the input and the tied output layer.
    GptWeights d;
};

/// The mean next-token cross-entropy of `batch` under `model`, and its gradient: the whole
/// batch runs forward keeping every block's inputs (gpt_forward_batch()), then backward from the
/// logits to the embeddings. Every position of the batch weighs the same (the mean is over
/// all of them). Throws std::invalid_argument for an empty batch or sequence, a sequence
/// longer than the context, inputs and targets of different lengths, or an id outside the
/// vocabulary, naming `caller`.
GptGradients gpt_gradients(const Gpt& model, const std::vector<Sequence>& batch,
                           const char* caller = "attn::gpt_gradients");

/// gpt_gradients() of a GPT's weights held without a Gpt (training steps them in place):
/// they are checked against the configuration first (check_weights()), not copied. Throws
/// as the other form does, and for weights check_weights() refuses, naming `caller`.
/// \param c the configuration \param w weights that fit it \param batch the sequences
/// \param caller the function named in an error
GptGradients gpt_gradients(const GptConfig& c, const GptWeights& w,
                           const std::vector<Sequence>& batch,
                           const char* caller = "attn::gpt_gradients");

}  // namespace attn
