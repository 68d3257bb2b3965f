/// \file
/// \brief Chapter 09: the loss of the chapter-05 GPT on a batch of sequences and its
/// gradient for every weight, the backward functions of backward.hpp chained in the
/// reverse order of the forward pass.
#pragma once

#include "chapters/05_transformer_block/gpt.hpp"

#include <cstddef>
#include <vector>

namespace attn {

/// One training example: tokens and, at each position, the token that should come next.
struct Sequence {
    std::vector<std::size_t> inputs;   ///< T token ids
    std::vector<std::size_t> targets;  ///< T token ids: targets[t] follows inputs[0..t]
};

/// The loss of a batch and its gradient.
struct GptGradients {
    double loss = 0.0;  ///< the mean cross-entropy over every position of the batch
    /// \f$\partial \mathrm{loss} / \partial w\f$ for every weight w, in the weights' own shapes
    /// (empty biases stay empty). The token embedding's gradient adds its two uses: the
    /// rows looked up at the input and the tied output layer.
    GptWeights d;
};

/// The mean next-token cross-entropy of `batch` under `model`, and its gradient: each
/// sequence runs forward keeping every block's inputs, then backward from the logits to the
/// embeddings. Every position of the batch weighs the same (the mean is over all of them).
/// Throws std::invalid_argument for an empty batch, a sequence longer than the context,
/// inputs and targets of different lengths, or an id outside the vocabulary.
GptGradients gpt_gradients(const Gpt& model, const std::vector<Sequence>& batch);

}  // namespace attn
