/// \file
/// \brief Chapter 09: training. A sentence as a training example, one step of training
/// (gradients, a check that they are finite, clipping, AdamW), and the measures of what the
/// model learned: its loss and its agreement on sentences it never saw, and where its heads
/// look from the word before the verb.
#pragma once

#include "chapters/09_learning/adamw.hpp"
#include "chapters/09_learning/gpt_gradients.hpp"
#include "chapters/09_learning/language.hpp"
#include "chapters/09_learning/llama_gradients.hpp"

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
/// naming training_step, before any gradient is computed, for a learning rate or max_norm
/// that is not above 0, weights that do not fit `config` (check_weights(), each step: the
/// weights are the caller's) and a batch gpt_gradients() refuses.
StepReport training_step(const GptConfig& config, GptWeights& weights, AdamW& optimiser,
                         const std::vector<Sequence>& batch, float learning_rate,
                         double max_norm = 1.0);

/// The model this chapter trains: chapter 05's GPT for `vocab_size` words with 2 blocks,
/// d_model 32, 4 heads of 8 (no grouping), a feed-forward width of 128, biases and a context
/// of 16.
GptConfig agreement_config(std::size_t vocab_size);

/// The steps train_agreement_model() runs for the book (chapter 09's default, and what
/// chapter 10 needs to train the same model).
inline constexpr std::size_t agreement_steps = 1000;
/// The sentences of one training step.
inline constexpr std::size_t agreement_batch = 64;
/// The learning rate at the end of the warm-up, before the cosine decay.
inline constexpr float agreement_peak_learning_rate = 3e-3f;
/// AdamW's weight decay on the GPT's blocks' matrices (train_agreement_model()).
inline constexpr float agreement_weight_decay = 1.0f;
/// AdamW's weight decay on the Llama's blocks' matrices (train_agreement_llama()): the
/// library's default.
inline constexpr float agreement_llama_weight_decay = 0.1f;

/// What train_agreement_model() calls after every step: the step (0-based), what it did,
/// and the weights after it.
using AfterStep = std::function<void(std::size_t step, const StepReport&, const GptWeights&)>;

/// Trains agreement_config()'s model from GPT-2's initialisation (seeded, 2026): `steps`
/// steps, each of agreement_batch sentences drawn from `train` (the same seeded generator),
/// AdamW with \f$\beta_2\f$ = 0.95 and a weight decay of agreement_weight_decay,
/// learning_rate_at() with a peak of agreement_peak_learning_rate and a warm-up of a
/// twentieth of the steps (at least 1), clipping to norm 1. The same steps give the same
/// model, so chapter 10 trains the model this chapter trained. Throws std::invalid_argument,
/// before the first step, for 0 steps, no training sentence, or a sentence that is empty or
/// holds an id outside the language.
Gpt train_agreement_model(const Language& language, const std::vector<Sentence>& train,
                          std::size_t steps, const AfterStep& after_step = {});

/// training_step() for the Llama, on its parameter buffer: the gradients of `batch` into
/// `gradients` (llama_gradients()), a check that the loss and every gradient are finite,
/// clipping to `max_norm`, then `optimiser.step`. Nothing is copied or rebuilt: the step
/// reads and writes the two buffers in place. Throws as training_step() does, naming
/// attn::llama_training_step and, for a number that is not finite, the tensor it is in.
StepReport llama_training_step(LlamaParameters& p, LlamaParameters& gradients,
                               BufferAdamW& optimiser, const std::vector<Sequence>& batch,
                               float learning_rate, double max_norm = 1.0);

/// The Llama this chapter trains, chapter 08's architecture at the size of
/// agreement_config()'s GPT: `vocab_size` words, dim 32, 2 blocks of 4 query heads of 8
/// sharing 2 key/value heads, a SwiGLU width of 96 (three matrices where the GPT has two
/// of 128: about the same numbers), seq_len 16, the classifier tied to the embedding.
LlamaConfig agreement_llama_config(std::size_t vocab_size);

/// What train_agreement_llama() calls after every step: the step (0-based), what it did,
/// and the parameters after it.
using AfterLlamaStep =
    std::function<void(std::size_t step, const StepReport&, const LlamaParameters&)>;

/// train_agreement_model() for agreement_llama_config()'s Llama: llama_init() (seeded,
/// 2026), then `steps` steps of agreement_batch sentences, the same schedule, AdamW's
/// \f$\beta_2\f$ and clipping, with BufferAdamW and a weight decay of
/// agreement_llama_weight_decay. The same steps give the same model. Throws
/// std::invalid_argument, before the first step, as train_agreement_model() does.
LlamaParameters train_agreement_llama(const Language& language, const std::vector<Sentence>& train,
                                      std::size_t steps, const AfterLlamaStep& after_step = {});

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
/// higher: right when it agrees with the subject. The sentences run through
/// llama_forward_batch() 64 at a time, so the logits agree with chapter 08's Llama::logits()
/// of each sentence to rounding (about 1e-6), not to the bit. Throws std::invalid_argument,
/// before any sentence is scored, for a sentence that is empty, holds an id outside the
/// language or whose verb_position is past its end.
Agreement evaluate(const LlamaParameters& model, const Language& language,
                   const std::vector<Sentence>& sentences);

/// The next-token logits of a sequence of inputs, `[T, vocab_size]`, computed some other way
/// than Gpt::logits() (chapter 10 reads the keys and values back from an 8-bit cache).
using LogitsOf = std::function<Matrix(const std::vector<std::size_t>& inputs)>;

/// evaluate() with the logits from `logits` instead of a model's. Throws
/// std::invalid_argument naming the shapes when `logits` returns a matrix that is not
/// `[inputs, vocab_size]`.
Agreement evaluate(const LogitsOf& logits, const Language& language,
                   const std::vector<Sentence>& sentences);

/// Where one head looks, measured over many sentences.
struct HeadFocus {
    std::size_t rows = 0;  ///< how many query rows were measured
    /// The share of the rows whose largest weight (the first, on a tie) is at their key.
    double largest_share = 0.0;
    double mean_weight = 0.0;  ///< the mean weight at the key
};

/// How one head's attention falls on one key of each sentence. `rows[i]` is the head's
/// weights in one query row of sentence i, `[T_i]` over the keys that row sees, and
/// `keys[i]` the key looked for in it (the subject). A head that always puts its largest
/// weight on the key scores a largest_share of 1; a head that always looks at one fixed
/// position scores the share of sentences whose key stands there. Throws
/// std::invalid_argument naming attn::head_focus for no rows, rows and keys of different
/// counts, a key outside its row, or a row that is not a distribution (a weight below 0 or
/// not finite, a sum away from 1 by more than 1e-3).
HeadFocus head_focus(const std::vector<Vector>& rows, const std::vector<std::size_t>& keys);

/// Every head's attention weights in the row that predicts the verb, one row per sentence:
/// `result[l * n_heads + h][i]` is head h of block l on `sentences[i]`, the row of
/// inputs[verb_position] (the word before the verb, sentence_sequence()) over its
/// verb_position + 1 keys. In that row the subject is key subject_position + 1 (the inputs
/// start with ".") and the word before the verb, the attractor when there is one, is the
/// last key. Throws std::invalid_argument naming attn::verb_rows for no sentence, a
/// sentence that is empty or holds an id outside the language, or whose subject is not
/// before its verb or whose verb is past its end.
std::vector<std::vector<Vector>> verb_rows(const LlamaParameters& model, const Language& language,
                                           const std::vector<Sentence>& sentences);

}  // namespace attn
