#include "chapters/09_learning/training.hpp"

#include "common/shape.hpp"

#include <xtensor/xview.hpp>

#include <malloc.h>  // mallopt, glibc

#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <string>

namespace attn {

Sequence sentence_sequence(const Language& language, const Sentence& sentence) {
    if (sentence.tokens.empty())
        invalid_argument("attn::sentence_sequence", "the sentence holds no token");
    Sequence s;
    s.inputs.push_back(language.id("."));
    s.inputs.insert(s.inputs.end(), sentence.tokens.begin(), sentence.tokens.end() - 1);
    s.targets = sentence.tokens;
    return s;
}

namespace {

bool all_finite(const float* data, std::size_t size) {
    for (std::size_t i = 0; i < size; ++i)
        if (!std::isfinite(data[i])) return false;
    return true;
}

// Every sentence checked before the first is used, so that the error names `fn` and the
// sentence (`train[3]`), not the function that would meet it later.
void check_sentences(const char* fn, const char* name, const Language& language,
                     const std::vector<Sentence>& sentences) {
    for (std::size_t i = 0; i < sentences.size(); ++i) {
        if (sentences[i].tokens.empty())
            invalid_argument(fn, std::string(name) + "[" + std::to_string(i) + "] holds no token");
        check_tokens(sentences[i].tokens, language.words().size(), fn,
                     std::string(name) + "[" + std::to_string(i) + "].tokens");
    }
}

// verb_rows()'s checks, before any sentence runs.
void check_measured(const char* fn, const Language& language,
                    const std::vector<Sentence>& sentences) {
    if (sentences.empty()) invalid_argument(fn, "no sentence to measure");
    check_sentences(fn, "sentences", language, sentences);
    for (std::size_t i = 0; i < sentences.size(); ++i) {
        const Sentence& s = sentences[i];
        if (s.subject_position >= s.verb_position || s.verb_position >= s.tokens.size()) {
            invalid_argument(
                fn, "sentences[" + std::to_string(i) +
                        "]: subject_position = " + std::to_string(s.subject_position) +
                        " must be before verb_position = " + std::to_string(s.verb_position) +
                        ", within its " + std::to_string(s.tokens.size()) + " tokens");
        }
    }
}

// train_agreement_model()'s and train_agreement_llama()'s checks, before the first step.
void check_training(const char* fn, const Language& language, const std::vector<Sentence>& train,
                    std::size_t steps, std::size_t context) {
    check_positive(fn, "steps", steps);
    if (train.empty()) invalid_argument(fn, "no sentence to train on");
    check_sentences(fn, "train", language, train);
    // A sentence of n words is read as n inputs: "." and its first n - 1 words.
    for (std::size_t i = 0; i < train.size(); ++i) {
        if (train[i].tokens.size() > context) {
            invalid_argument(fn, "train[" + std::to_string(i) + "] holds " +
                                     std::to_string(train[i].tokens.size()) +
                                     " words, more than the model's context of " +
                                     std::to_string(context));
        }
    }
}

// A step's settings, before the gradients are computed: the optimiser and clipping would
// refuse them only afterwards, naming themselves.
void check_step_settings(const char* fn, float learning_rate, double max_norm) {
    if (!(learning_rate > 0.0f) || !std::isfinite(learning_rate)) {
        invalid_argument(fn, "learning_rate = " + std::to_string(learning_rate) +
                                 ": the learning rate must be above 0 and finite");
    }
    if (!(max_norm > 0.0))
        invalid_argument(fn, "max_norm = " + std::to_string(max_norm) + " must be above 0");
}

// One step's agreement_batch sentences, drawn from `train` with `rng`.
std::vector<Sequence> draw_batch(const Language& language, const std::vector<Sentence>& train,
                                 Rng& rng) {
    std::vector<Sequence> batch;
    for (std::size_t i = 0; i < agreement_batch; ++i) {
        const std::size_t pick =
            static_cast<std::size_t>(rng.uniform() * train.size()) % train.size();
        batch.push_back(sentence_sequence(language, train[pick]));
    }
    return batch;
}

}  // namespace

void keep_freed_memory() {
    constexpr int pad = 64 << 20;
    mallopt(M_TOP_PAD, pad);              // grow the heap 64 MiB beyond each request,
    mallopt(M_TRIM_THRESHOLD, 2 * pad);   // give back only a free top above 128 MiB,
    mallopt(M_MMAP_THRESHOLD, 32 << 20);  // and take blocks below 32 MiB from the heap
                                          // (not from mmap, returned at each free)
}

StepReport training_step(const GptConfig& config, GptWeights& weights, AdamW& optimiser,
                         const std::vector<Sequence>& batch, float learning_rate, double max_norm) {
    constexpr const char* fn = "attn::training_step";
    check_step_settings(fn, learning_rate, max_norm);
    const std::string step = "attn::training_step: step " + std::to_string(optimiser.steps() + 1);
    GptGradients g = gpt_gradients(config, weights, batch, fn);  // checked, not copied
    // A non-finite loss or gradient would turn every weight into NaN in one AdamW step:
    // stop before it, naming where it began.
    if (!std::isfinite(g.loss))
        throw std::runtime_error(step + ": the loss is " + std::to_string(g.loss));
    for (const ParameterView& p : parameters(g.d)) {
        if (!all_finite(p.data, p.size))
            throw std::runtime_error(step + ": the gradient of " + p.name + " is not finite");
    }
    StepReport report{g.loss, clip_gradients(g.d, max_norm)};
    optimiser.step(weights, g.d, learning_rate);
    return report;
}

StepReport llama_training_step(LlamaParameters& p, LlamaParameters& gradients,
                               BufferAdamW& optimiser, const std::vector<Sequence>& batch,
                               float learning_rate, double max_norm) {
    constexpr const char* fn = "attn::llama_training_step";
    check_step_settings(fn, learning_rate, max_norm);
    const std::string step =
        "attn::llama_training_step: step " + std::to_string(optimiser.steps() + 1);
    const double loss = llama_gradients(p, batch, gradients, fn);
    if (!std::isfinite(loss))
        throw std::runtime_error(step + ": the loss is " + std::to_string(loss));
    for (const TensorSlot& slot : gradients.slots()) {
        if (!all_finite(gradients.data() + slot.offset, slot.size))
            throw std::runtime_error(step + ": the gradient of " + slot.name + " is not finite");
    }
    StepReport report{loss, clip_gradients(gradients, max_norm)};
    optimiser.step(p, gradients, learning_rate);
    return report;
}

namespace {

// evaluate()'s checks, before any sentence is scored.
void check_scored(const char* fn, const Language& language,
                  const std::vector<Sentence>& sentences) {
    check_sentences(fn, "sentences", language, sentences);
    for (std::size_t i = 0; i < sentences.size(); ++i) {
        const Sentence& s = sentences[i];
        if (s.verb_position >= s.tokens.size()) {
            invalid_argument(fn, "sentences[" + std::to_string(i) +
                                     "].verb_position = " + std::to_string(s.verb_position) +
                                     " is past its " + std::to_string(s.tokens.size()) + " tokens");
        }
    }
}

}  // namespace

Agreement evaluate(const LlamaParameters& model, const Language& language,
                   const std::vector<Sentence>& sentences) {
    constexpr const char* fn = "attn::evaluate";
    check_scored(fn, language, sentences);
    std::vector<Matrix> logits;
    constexpr std::size_t batch = 64;
    for (std::size_t first = 0; first < sentences.size(); first += batch) {
        std::vector<std::vector<std::size_t>> inputs;
        for (std::size_t i = first; i < std::min(sentences.size(), first + batch); ++i)
            inputs.push_back(sentence_sequence(language, sentences[i]).inputs);
        const LlamaActivations f = llama_forward_batch(model, inputs, fn);
        for (std::size_t i = 0; i < inputs.size(); ++i)
            logits.push_back(
                xt::view(f.logits, xt::range(f.starts[i], f.starts[i + 1]), xt::all()));
    }
    std::size_t next = 0;
    return evaluate([&](const std::vector<std::size_t>&) { return logits[next++]; }, language,
                    sentences);
}

Agreement evaluate(const LogitsOf& logits_of, const Language& language,
                   const std::vector<Sentence>& sentences) {
    constexpr const char* fn = "attn::evaluate";
    check_scored(fn, language, sentences);
    const std::size_t was = language.id("was"), were = language.id("were");
    Agreement a;
    double total = 0.0;
    std::size_t tokens = 0;
    for (const Sentence& s : sentences) {
        const Sequence seq = sentence_sequence(language, s);
        const Matrix logits = logits_of(seq.inputs);
        check_shape(
            fn, "logits", logits,
            {exactly("inputs", seq.inputs.size()), exactly("vocab_size", language.words().size())});
        const CrossEntropy ce = cross_entropy(logits, seq.targets);
        total += ce.loss * static_cast<double>(seq.targets.size());
        tokens += seq.targets.size();
        const std::size_t p = s.verb_position;
        const bool right =
            s.plural_subject ? logits(p, were) > logits(p, was) : logits(p, was) > logits(p, were);
        ++a.sentences;
        a.correct += right;
        if (s.attractor) {
            ++a.attractors;
            a.attractors_correct += right;
        }
    }
    a.loss = tokens ? total / static_cast<double>(tokens) : 0.0;
    return a;
}

GptConfig agreement_config(std::size_t vocab_size) {
    return GptConfig{vocab_size, 16, 32, 2, 4, 4, 128, true};
}

Gpt train_agreement_model(const Language& language, const std::vector<Sentence>& train,
                          std::size_t steps, const AfterStep& after_step) {
    const GptConfig config = agreement_config(language.words().size());
    check_training("attn::train_agreement_model", language, train, steps, config.context);
    Rng rng(2026);
    GptWeights weights = gpt2_init(config, rng);
    AdamWSettings settings;
    settings.beta2 = 0.95f;
    settings.weight_decay = agreement_weight_decay;
    AdamW optimiser(weights, settings);
    keep_freed_memory();  // each step reuses the last one's memory
    const std::size_t warmup = std::max<std::size_t>(1, steps / 20);
    for (std::size_t step = 0; step < steps; ++step) {
        const StepReport r =
            training_step(config, weights, optimiser, draw_batch(language, train, rng),
                          learning_rate_at(step, agreement_peak_learning_rate, warmup, steps));
        if (after_step) after_step(step, r, weights);
    }
    return Gpt(config, weights);
}

LlamaConfig agreement_llama_config(std::size_t vocab_size) {
    return LlamaConfig{.dim = 32,
                       .hidden_dim = 96,
                       .n_layers = 2,
                       .n_heads = 4,
                       .n_kv_heads = 2,
                       .vocab_size = vocab_size,
                       .seq_len = 16};
}

LlamaParameters train_agreement_llama(const Language& language, const std::vector<Sentence>& train,
                                      std::size_t steps, const AfterLlamaStep& after_step) {
    // The loop's constants, once: the model, its start, the optimiser and the schedule.
    const LlamaConfig config = agreement_llama_config(language.words().size());
    check_training("attn::train_agreement_llama", language, train, steps, config.seq_len);
    Rng rng(2026);
    LlamaParameters model = llama_init(config, rng);
    LlamaParameters gradients(config);
    AdamWSettings settings;
    settings.beta2 = 0.95f;
    settings.weight_decay = agreement_llama_weight_decay;
    BufferAdamW optimiser(model, settings);
    const std::size_t warmup = std::max<std::size_t>(1, steps / 20);
    keep_freed_memory();  // each step reuses the last one's memory
    for (std::size_t step = 0; step < steps; ++step) {
        const float rate = learning_rate_at(step, agreement_peak_learning_rate, warmup, steps);
        const StepReport r = llama_training_step(model, gradients, optimiser,
                                                 draw_batch(language, train, rng), rate);
        if (after_step) after_step(step, r, model);
    }
    return model;
}

HeadFocus head_focus(const std::vector<Vector>& rows, const std::vector<std::size_t>& keys) {
    constexpr const char* fn = "attn::head_focus";
    if (rows.empty()) invalid_argument(fn, "no rows to measure");
    if (keys.size() != rows.size()) {
        invalid_argument(fn, std::to_string(rows.size()) + " rows but " +
                                 std::to_string(keys.size()) + " keys: one key per row");
    }
    HeadFocus focus;
    focus.rows = rows.size();
    std::size_t largest = 0;
    double weight = 0.0;
    for (std::size_t i = 0; i < rows.size(); ++i) {
        const Vector& row = rows[i];
        const std::string name = "rows[" + std::to_string(i) + "]";
        if (keys[i] >= row.size()) {
            invalid_argument(fn, "keys[" + std::to_string(i) + "] = " + std::to_string(keys[i]) +
                                     " is outside " + name + ", of " + std::to_string(row.size()) +
                                     " keys");
        }
        double sum = 0.0;
        for (const float w : row) {
            if (!(w >= 0.0f) || !std::isfinite(w))
                invalid_argument(fn, name + " holds the weight " + std::to_string(w));
            sum += w;
        }
        if (std::abs(sum - 1.0) > 1e-3)
            invalid_argument(fn, name + " sums to " + std::to_string(sum) + ", not 1");
        largest += static_cast<std::size_t>(std::max_element(row.begin(), row.end()) -
                                            row.begin()) == keys[i];
        weight += row(keys[i]);
    }
    focus.largest_share = static_cast<double>(largest) / static_cast<double>(rows.size());
    focus.mean_weight = weight / static_cast<double>(rows.size());
    return focus;
}

std::vector<std::vector<Vector>> verb_rows(const LlamaParameters& model, const Language& language,
                                           const std::vector<Sentence>& sentences) {
    constexpr const char* fn = "attn::verb_rows";
    check_measured(fn, language, sentences);
    const LlamaConfig& c = model.config();
    std::vector<std::vector<Vector>> rows(c.n_layers * c.n_heads);
    constexpr std::size_t batch = 64;
    for (std::size_t first = 0; first < sentences.size(); first += batch) {
        const std::size_t last = std::min(sentences.size(), first + batch);
        std::vector<std::vector<std::size_t>> inputs;
        for (std::size_t i = first; i < last; ++i)
            inputs.push_back(sentence_sequence(language, sentences[i]).inputs);
        const LlamaActivations f = llama_forward_batch(model, inputs, fn);
        for (std::size_t i = first; i < last; ++i) {
            // The row of the word before the verb: sentence i's row `verb` of the batch.
            const std::size_t verb = sentences[i].verb_position, row = f.starts[i - first] + verb;
            for (std::size_t l = 0; l < c.n_layers; ++l) {
                const Tensor3& weights = f.blocks[l].attention_weights;
                for (std::size_t h = 0; h < c.n_heads; ++h) {
                    rows[l * c.n_heads + h].push_back(
                        Vector(xt::view(weights, row, h, xt::range(0, verb + 1))));
                }
            }
        }
    }
    return rows;
}

}  // namespace attn
