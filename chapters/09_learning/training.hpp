/// \file
/// \brief Chapter 09: training. A sentence as a training example, one step of training
/// (gradients, a check that they are finite, clipping, AdamW), and the measures of what the
/// model learned: its loss and its agreement on sentences it never saw.
#pragma once

#include "chapters/09_learning/adamw.hpp"
#include "chapters/09_learning/gpt_gradients.hpp"
#include "chapters/09_learning/language.hpp"

#include <cstddef>
#include <functional>
#include <vector>

namespace attn {

/// A sentence as one training sequence: the inputs are "." (the end of the sentence before,
/// which starts every sequence) and the sentence without its last word, the targets the
/// sentence itself. So the row of inputs[p] predicts tokens[p]: the row that chooses the
/// verb is verb_position, whose input is the word before the verb.
Sequence sentence_sequence(const Language& language, const Sentence& sentence);

/// What one training step did.
struct StepReport {
    double loss = 0.0;           ///< the batch's mean cross-entropy before the step
    double gradient_norm = 0.0;  ///< the global norm before clipping
};

/// Asks the C library's allocator to keep the memory a training step frees for the next
/// step. A step allocates its activations (megabytes), frees them all at its end, and
/// allocates them again: by default glibc hands the freed top of its heap back to the
/// kernel, so that each step then waits for the kernel to supply and zero fresh pages
/// (measured here: more than half of a step's time). With a 64 MiB pad the heap grows in
/// large steps and is never trimmed below it. Process-wide; call it once before training.
void keep_freed_memory();

/// One step: the gradients of `batch` (gpt_gradients), a check that the loss and every
/// gradient are finite, clipping to `max_norm`, then `optimiser.step` with `learning_rate`.
/// Throws std::runtime_error naming the step (the optimiser's count + 1) and the first
/// tensor that is not finite (or the loss), before any weight changes; std::invalid_argument
/// for a learning rate that is not above 0, as AdamW::step does.
StepReport training_step(const GptConfig& config, GptWeights& weights, AdamW& optimiser,
                         const std::vector<Sequence>& batch, float learning_rate,
                         double max_norm = 1.0);

/// The model this chapter trains: chapter 05's GPT for `vocab_size` words with 2 blocks,
/// d_model 32, 4 heads of 8 (no grouping), a feed-forward width of 128, biases and a context
/// of 16.
GptConfig agreement_config(std::size_t vocab_size);

/// What train_agreement_model() calls after every step: the step (0-based), what it did,
/// and the weights after it.
using AfterStep = std::function<void(std::size_t step, const StepReport&, const GptWeights&)>;

/// Trains agreement_config()'s model from GPT-2's initialisation (seeded, 2026): `steps`
/// steps, each of 64 sentences drawn from `train` (the same seeded generator), AdamW with
/// \f$\beta_2\f$ = 0.95, learning_rate_at() with a peak of 0.003 and a warm-up of a
/// twentieth of the steps (at least 1), clipping to norm 1. The same steps give the same
/// model, so chapter 10 trains the model this chapter trained. Throws std::invalid_argument
/// for 0 steps or no training sentence.
Gpt train_agreement_model(const Language& language, const std::vector<Sentence>& train,
                          std::size_t steps, const AfterStep& after_step = {});

/// How a model does on a set of sentences.
struct Agreement {
    double loss = 0.0;                   ///< the mean cross-entropy per token
    std::size_t sentences = 0;           ///< how many were scored
    std::size_t correct = 0;             ///< the right verb scored above the wrong one
    std::size_t attractors = 0;          ///< sentences with an attractor
    std::size_t attractors_correct = 0;  ///< of which the verb was right
    /// The share of sentences whose verb was right.
    double accuracy() const { return sentences ? double(correct) / double(sentences) : 0.0; }
    /// The share of attractor sentences whose verb was right.
    double attractor_accuracy() const {
        return attractors ? double(attractors_correct) / double(attractors) : 0.0;
    }
};

/// The loss of `model` on `sentences`, and at each verb whether "was" or "were" scores
/// higher: right when it agrees with the subject.
Agreement evaluate(const Gpt& model, const Language& language,
                   const std::vector<Sentence>& sentences);

/// The next-token logits of a sequence of inputs, `[T, vocab_size]`, computed some other way
/// than Gpt::logits() (chapter 10 reads the keys and values back from an 8-bit cache).
using LogitsOf = std::function<Matrix(const std::vector<std::size_t>& inputs)>;

/// evaluate() with the logits from `logits` instead of a model's. Throws
/// std::invalid_argument naming the shapes when `logits` returns a matrix that is not
/// `[inputs, vocab_size]`.
Agreement evaluate(const LogitsOf& logits, const Language& language,
                   const std::vector<Sentence>& sentences);

}  // namespace attn
