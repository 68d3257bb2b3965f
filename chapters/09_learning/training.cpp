#include "chapters/09_learning/training.hpp"

#include "common/shape.hpp"

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
    const std::string step = "attn::training_step: step " + std::to_string(optimiser.steps() + 1);
    GptGradients g = gpt_gradients(Gpt(config, weights), batch);
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

Agreement evaluate(const Gpt& model, const Language& language,
                   const std::vector<Sentence>& sentences) {
    return evaluate([&](const std::vector<std::size_t>& inputs) { return model.logits(inputs); },
                    language, sentences);
}

Agreement evaluate(const LogitsOf& logits_of, const Language& language,
                   const std::vector<Sentence>& sentences) {
    const std::size_t was = language.id("was"), were = language.id("were");
    Agreement a;
    double total = 0.0;
    std::size_t tokens = 0;
    for (const Sentence& s : sentences) {
        const Sequence seq = sentence_sequence(language, s);
        const Matrix logits = logits_of(seq.inputs);
        check_shape(
            "attn::evaluate", "logits", logits,
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
    constexpr const char* fn = "attn::train_agreement_model";
    if (steps == 0) invalid_argument(fn, "steps must be at least 1, got 0");
    if (train.empty()) invalid_argument(fn, "no sentence to train on");
    const GptConfig config = agreement_config(language.words().size());
    Rng rng(2026);
    GptWeights weights = gpt2_init(config, rng);
    AdamWSettings settings;
    settings.beta2 = 0.95f;
    AdamW optimiser(weights, settings);
    keep_freed_memory();  // each step reuses the last one's memory
    const float peak = 3e-3f;
    const std::size_t warmup = std::max<std::size_t>(1, steps / 20), batch_size = 64;
    for (std::size_t step = 0; step < steps; ++step) {
        std::vector<Sequence> batch;
        for (std::size_t i = 0; i < batch_size; ++i) {
            const std::size_t pick =
                static_cast<std::size_t>(rng.uniform() * train.size()) % train.size();
            batch.push_back(sentence_sequence(language, train[pick]));
        }
        const StepReport r = training_step(config, weights, optimiser, batch,
                                           learning_rate_at(step, peak, warmup, steps));
        if (after_step) after_step(step, r, weights);
    }
    return Gpt(config, weights);
}

}  // namespace attn
