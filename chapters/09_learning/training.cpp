#include "chapters/09_learning/training.hpp"

#include "common/shape.hpp"

#include <malloc.h>  // mallopt, glibc

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
    const std::size_t was = language.id("was"), were = language.id("were");
    Agreement a;
    double total = 0.0;
    std::size_t tokens = 0;
    for (const Sentence& s : sentences) {
        const Sequence seq = sentence_sequence(language, s);
        const Matrix logits = model.logits(seq.inputs);
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

}  // namespace attn
