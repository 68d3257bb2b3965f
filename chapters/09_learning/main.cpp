/// # Chapter 09: Learning
///
/// Every model in the book so far was designed by hand or drawn at random. Chapters 02-04
/// wired a head so that "was" in "the dog that chased the cat was tired" finds "dog" across
/// the distracting "cat"; chapter 08 ran a model someone else had trained. This chapter
/// closes the loop: it derives the gradient of every piece of chapter 05's GPT, proves each
/// against PyTorch and against finite differences, trains the GPT from zero on a language
/// the program makes up, and then looks inside: which head learned to link the verb to its
/// subject, and does the trained model write sentences of the language?
///
/// The pieces live in backward.hpp (each piece's backward pass), gpt_gradients.hpp (the
/// whole model's), adamw.hpp (the optimiser), language.hpp (the data), training.hpp (a
/// step, and the measures) and weights_file.hpp (the trained model on disk).
#include "chapters/06_kv_cache/kv_cache.hpp"
#include "chapters/09_learning/adamw.hpp"
#include "chapters/09_learning/backward.hpp"
#include "chapters/09_learning/gpt_gradients.hpp"
#include "chapters/09_learning/language.hpp"
#include "chapters/09_learning/training.hpp"
#include "chapters/09_learning/weights_file.hpp"

#include "common/allocation_count.hpp"
#include "common/blas_threads.hpp"
#include "common/chapter_program.hpp"
#include "common/heatmap.hpp"
#include "common/plot.hpp"
#include "common/print.hpp"
#include "common/random.hpp"

#include <xtensor/xview.hpp>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <filesystem>
#include <iomanip>
#include <iostream>
#include <optional>
#include <set>
#include <stdexcept>
#include <string>
#include <vector>

using attn::Matrix;
using attn::Vector;

/// ## The backward pass, one piece at a time
///
/// Training changes every weight w a little against its gradient
/// \f$\partial L / \partial w\f$, the rate at which the loss L grows with it. The chain rule
/// computes all of them in one sweep from the loss back to the input: each piece of the
/// model receives \f$dy = \partial L / \partial y\f$ for its output y and returns the
/// gradient for its input (which the piece before it receives as its own dy) and for its
/// weights. Each backward function below takes what its forward pass saw and dy, in the
/// shapes of the forward pass: a gradient always has the shape of what it is the gradient
/// of.
///
/// First, a linear layer, \f$y = x W + b\f$ with x `[T, in]` and W `[in, out]`. Each
/// \f$y_{tj} = \sum_i x_{ti} W_{ij} + b_j\f$, so
///
/// \f[ dx = dy\, W^\top, \qquad dW = x^\top dy, \qquad db = \textstyle\sum_t dy_t \f]
///
/// dW sums over the tokens: every token used the same W. The transposes are where the
/// shapes force them (dW must be `[in, out]`, dx `[T, in]`).
///
/// \show backward.cpp linear_backward
///
/// The row softmax, \f$P = \mathrm{softmax}(S)\f$. Every weight of a row depends on every
/// score of the row, \f$\partial P_j / \partial S_k = P_j(\delta_{jk} - P_k)\f$; summed
/// against dP that is
///
/// \f[ dS = P \circ \left(dP - \mathrm{rowsum}(dP \circ P)\right) \f]
///
/// A masked key has \f$P = 0\f$, so its score gets no gradient, as it should: it took no
/// part.
///
/// \show backward.cpp softmax_backward
///
/// Attention for one head, \f$O = P V\f$ with \f$P = \mathrm{softmax}(Q K^\top / \sqrt{d_{head}}
/// + M)\f$, M being \f$-\infty\f$ where a key is hidden: the product's backward twice and
/// the softmax's (attn::softmax_backward()) between,
///
/// \f[ dV = P^\top dO, \quad dP = dO\, V^\top, \quad dS = P \circ (dP - \mathrm{rowsum}(dP \circ P)), \quad
///     dQ = dS\, K / \sqrt{d_{head}}, \quad dK = dS^\top Q / \sqrt{d_{head}} \f]
///
/// \show backward.cpp attention_backward
///
/// The heads of chapter 04 add two steps: the merge puts the heads' outputs side by side,
/// so its backward splits the gradient by the same column blocks; the split of Q, K and V
/// into heads is undone by a merge. A key/value head shared by several query heads
/// (grouped-query attention) receives the sum of their gradients. For a batch, the heads
/// work on each sequence's rows, the projections on all rows at once.
///
/// \show backward.cpp multi_head_attention_backward
///
/// The normalisation of chapter 05, \f$y = g \circ \hat{x} + b\f$ with \f$\hat{x} = (x - \mu)/\sigma\f$ for each
/// row. The mean \f$\mu\f$ and the deviation \f$\sigma\f$ depend on every feature of the row,
/// so each feature's gradient has two more terms than a plain division by
/// \f$\sigma\f$ would give; with \f$u = dy \circ g\f$,
///
/// \f[ dx = \frac{1}{\sigma}\left(u - \mathrm{mean}(u) - \hat{x}\,
///     \mathrm{mean}(u \circ \hat{x})\right), \qquad dg = \textstyle\sum_t dy_t \circ
///     \hat{x}_t, \qquad db = \sum_t dy_t \f]
///
/// \show backward.cpp layer_norm_backward
///
/// The activation of the feed-forward network (the tanh form of chapter 05) is elementwise:
/// dx is dy times its derivative. Training computes it for every hidden feature of every
/// token twice a step, so its tanh comes from chapter 07's vectorised exponential,
/// \f$\tanh u = 1 - 2/(e^{2u} + 1)\f$, 8 values an instruction (attn::fast_gelu() is the
/// forward pass the same way); one library tanh per value took a quarter of a step.
/// **The residual add** \f$h = x + f(x)\f$ passes dy to x unchanged and adds f's path: that
/// is why a deep residual network trains at all, the gradient reaches the first block
/// undiminished. **The embeddings** are a lookup, \f$x_t = E_{token_t} + P_t\f$: the
/// backward is a scatter-add of each row of dx into the row of its token (a token used
/// twice gets both), and into the row of its position.
///
///
/// \show backward.cpp gelu_backward embedding_backward
///
/// Last, the loss: cross-entropy of the logits z of N positions against their targets,
/// averaged over the N: \f$L = -\frac{1}{N}\sum_t \log \mathrm{softmax}(z_t)_{target_t}\f$.
/// Its gradient is the simplest of all, and the one most often written wrong (without the
/// 1/N, plain gradient descent's step grows with the batch; AdamW's does not, but clipping
/// at a fixed norm then cuts in at another size):
///
/// \f[ dz = (\mathrm{softmax}(z) - \mathrm{onehot}(target)) / N \f]
///
/// \show backward.cpp cross_entropy
///
/// Chapter 05's GPT ties its output layer to the token embedding, logits
/// \f$= h\,E^\top\f$: E is used twice, at the input and at the output, and its gradient is
/// the sum of both uses. attn::gpt_gradients() runs the forward pass keeping each block's
/// inputs (attn::gpt_forward_batch()), then the functions above in reverse order. It packs the
/// batch's sequences into the rows of one matrix, one below the other: a linear layer, layer
/// norm or GELU treats each row alone, so they compute all of the batch in one call (one
/// large matrix product instead of 64 small ones); only attention must keep the sequences
/// apart, and multi_head_attention_forward() runs chapter 04's heads on each sequence's rows:
///
/// \show backward.cpp multi_head_attention_forward
///
///
/// \show gpt_gradients.cpp gpt_forward_batch gpt_gradients
///
/// The tests (tests/chapters/test_ch09.cpp) compare every one of these functions, and the
/// whole model's gradient for every one of its tensors, with PyTorch's autograd on the same
/// inputs (float64 references in tests/reference/ch09.txt).

/// ## Proof: the gradients against finite differences
///
/// A second proof needs no PyTorch: nudge one weight by \f$\pm \delta\f$ and watch the loss,
/// \f$\partial L / \partial w \approx (L(w + \delta) - L(w - \delta)) / 2\delta\f$, whose
/// error shrinks as \f$\delta^2\f$. The program does this on a tiny GPT (2 blocks, d_model 8, 2 heads) for the three
/// entries of largest gradient in every weight tensor, and prints the largest relative
/// error \f$|g_{fd} - g| / \max(|g_{fd}|, |g|)\f$ per tensor. The loss is computed in float32,
/// so \f$\delta\f$ = 0.01 balances the rounding of L (about \f$10^{-7} L\f$, divided by
/// \f$2\delta\f$) against the \f$\delta^2\f$ term: agreement to about \f$10^{-3}\f$ is what
/// float32 allows, and a wrong formula shows as an error near 1. The program calls the
/// gradients right when every tensor's error is below \f$10^{-2}\f$, between the two.
///
/// One tensor's gradient is 0 in every block, and both sides say so: the key bias
/// \f$b_k\f$. It adds \f$q \cdot b_k\f$ to every score of a query's row alike, and a softmax
/// does not change when the same number is added to all its inputs. (GPT-2 has the bias
/// anyway; Llama has none.)
attn::GptConfig tiny_config(std::size_t vocab_size) {
    return {vocab_size, 12, 8, 2, 2, 2, 32, true};
}

void show_gradient_check(const attn::Language& language) {
    attn::section(std::cout, "Proof: the gradients against finite differences");
    attn::Rng rng(9);
    const attn::GptConfig c = tiny_config(language.words().size());
    attn::GptWeights w = attn::gpt2_init(c, rng);
    // Larger random weights than GPT-2's start, so that every path carries a gradient.
    for (const attn::ParameterView& p : attn::parameters(w))
        for (std::size_t i = 0; i < p.size; ++i) p.data[i] += 0.3f * rng.normal();
    const std::vector<attn::Sequence> batch = {
        attn::sentence_sequence(language, language.sentences()[7]),
        attn::sentence_sequence(language, language.sentences()[2000])};
    const attn::GptGradients g = attn::gpt_gradients(attn::Gpt(c, w), batch);
    attn::GptGradients gd = g;
    const std::vector<attn::ParameterView> weights = attn::parameters(w);
    const std::vector<attn::ParameterView> grads = attn::parameters(gd.d);
    const float h = 0.01f;
    double worst = 0.0;
    std::cout << "tensor                       entries   largest relative error\n";
    for (std::size_t t = 0; t < weights.size(); ++t) {
        // The three entries with the largest analytic gradient.
        std::vector<std::size_t> order(grads[t].size);
        for (std::size_t i = 0; i < order.size(); ++i) order[i] = i;
        const std::size_t n = std::min<std::size_t>(3, order.size());
        std::partial_sort(order.begin(), order.begin() + static_cast<std::ptrdiff_t>(n),
                          order.end(), [&](std::size_t a, std::size_t b) {
                              return std::abs(grads[t].data[a]) > std::abs(grads[t].data[b]);
                          });
        double error = 0.0, largest = 0.0;
        for (std::size_t j = 0; j < n; ++j) {
            float& x = weights[t].data[order[j]];
            const float kept = x;
            x = kept + h;
            const double up = attn::gpt_gradients(attn::Gpt(c, w), batch).loss;
            x = kept - h;
            const double down = attn::gpt_gradients(attn::Gpt(c, w), batch).loss;
            x = kept;
            const double numeric = (up - down) / (2.0 * h);
            const double analytic = grads[t].data[order[j]];
            const double scale = std::max({std::abs(numeric), std::abs(analytic), 1e-8});
            error = std::max(error, std::abs(numeric - analytic) / scale);
            largest = std::max({largest, std::abs(numeric), std::abs(analytic)});
        }
        std::cout << std::left << std::setw(29) << weights[t].name << std::right << std::setw(7)
                  << n << std::scientific << std::setprecision(1);
        if (largest < 1e-4) {
            // A gradient of 0 has no relative error: both sides are float noise.
            std::cout << "   gradient 0 (both below 1e-4)\n" << std::defaultfloat;
            continue;
        }
        worst = std::max(worst, error);
        std::cout << std::setw(20) << error << std::defaultfloat << '\n';
    }
    std::cout << "\nlargest relative error over all " << weights.size()
              << " tensors: " << std::scientific << std::setprecision(1) << worst
              << std::defaultfloat
              << (worst < 1e-2 ? " (below 1e-2: the gradients agree)\n"
                               : " (above 1e-2: a gradient is wrong)\n");
}

/// ## The optimiser
///
/// Plain gradient descent, \f$w \leftarrow w - \eta\, g\f$, takes steps as large as the
/// gradients, and gradients of different tensors differ by orders of magnitude. Adam
/// (Kingma and Ba 2015) divides each number's step by a running root mean square of its
/// gradients, so every weight moves at about the learning rate \f$\eta\f$, and keeps a
/// running mean of the gradient (momentum) for its direction. For each number w with
/// gradient g, at step t = 1, 2, ...:
///
/// \f[ m \leftarrow \beta_1 m + (1 - \beta_1)\, g, \qquad
///     v \leftarrow \beta_2 v + (1 - \beta_2)\, g^2, \qquad
///     w \leftarrow w - \eta \left( \frac{m / (1 - \beta_1^t)}{\sqrt{v / (1 - \beta_2^t)} + \epsilon}
///     + \lambda w \right) \f]
///
/// Both running averages start at 0, so at first they are too small, m by the factor \f$1 - \beta_1^t\f$ and v by
/// \f$1 - \beta_2^t\f$ at step t; dividing by these is the *bias correction*. Without it the
/// early steps are off by \f$(1 - \beta_1^t)/\sqrt{1 - \beta_2^t}\f$: with the betas used
/// here (0.9, 0.95) 0.45 times their size at the first step, rising to 1.1 times near step
/// 20; with PyTorch's default \f$\beta_2\f$ = 0.999, three times too large at the first. AdamW (Loshchilov and Hutter 2019)
/// takes weight decay out of the gradient: each step also shrinks the weight itself by
/// \f$\eta\lambda w\f$.
///
/// \show adamw.cpp AdamW::step
///
/// Weight decay applies to the six matrices of each block (W_q, W_k, W_v, W_o, W_1, W_2),
/// not to the gains, biases or embeddings, as in GPT-2 and nanoGPT: a gain of 1 is layer
/// norm's neutral value, and pulling it towards 0 only fights the norm; and an embedding row
/// gets a gradient only when its token appears, while decay would shrink it at every step.
///
/// \show adamw.cpp parameters
///
/// Two safeguards make the first steps safe. *Clipping* scales the whole gradient down when
/// its global norm \f$\sqrt{\sum g^2}\f$ is above a limit (1 here), so one unlucky batch
/// cannot throw the weights far. *Warm-up* raises the learning rate linearly over the first
/// steps, while Adam's averages are still noisy, and a cosine then lowers it to a tenth of
/// its peak, so the last steps settle.
///
/// \show adamw.cpp clip_gradients learning_rate_at
void show_schedule(std::size_t steps, float peak, std::size_t warmup) {
    attn::section(std::cout, "The optimiser");
    std::cout << "learning rate over " << steps << " steps (peak " << peak << ", warm-up " << warmup
              << " steps, cosine to a tenth):\n";
    for (std::size_t s :
         {std::size_t{0}, warmup / 2, warmup, steps / 4, steps / 2, 3 * steps / 4, steps - 1}) {
        std::cout << "  step " << std::setw(5) << s << "   " << std::scientific
                  << std::setprecision(2) << attn::learning_rate_at(s, peak, warmup, steps)
                  << std::defaultfloat << '\n';
    }
}

/// ## The data
///
/// The model learns a language the program makes up (language.hpp), small enough to learn
/// in seconds and built to test what attention is for. Its sentences are "the" and a noun,
/// then nothing, a relative clause ("that chased the cats") or a prepositional phrase ("near
/// the cat"), then "was" or "were" and an adjective: 26 words, 2,840 sentences. The verb must
/// agree with the subject, and between them may stand an *attractor*, a noun of the other
/// number (Linzen et al. 2016). A model that only looks at the nearest noun gets every
/// attractor sentence wrong; the two verbs are equally common, so one that always guesses
/// the same verb gets half right. To get them right it must look back across the middle to the subject.
///
/// \show language.cpp Language::Language
///
/// A fifth of every kind of sentence (subject number, attractor or not, the middle's length)
/// is held out, never trained on: the measures below are on sentences the model has never
/// seen. Each training sequence is one sentence after a ".", the end of the one before, so
/// the subject always stands at position 2. The row of the word before the verb is the one
/// that predicts it:
///
/// \show training.cpp sentence_sequence
void show_data(const attn::Language& language, const attn::LanguageSplit& split) {
    attn::section(std::cout, "The data");
    const auto count = [](const std::vector<attn::Sentence>& s, auto pred) {
        return std::count_if(s.begin(), s.end(), pred);
    };
    std::cout << language.words().size() << " words, " << language.sentences().size()
              << " sentences: " << split.train.size() << " to train on, " << split.held_out.size()
              << " held out, of which "
              << count(split.held_out, [](const attn::Sentence& s) { return s.attractor; })
              << " with an attractor\n\nexamples:\n";
    for (std::size_t i : {std::size_t{0}, std::size_t{205}, std::size_t{1570}, std::size_t{2500}})
        std::cout << "  " << language.text(language.sentences()[i].tokens) << '\n';
    const auto plural =
        count(split.train, [](const attn::Sentence& s) { return s.plural_subject; });
    std::cout << "\nsubjects in training: " << split.train.size() - plural << " singular, "
              << plural << " plural\n";
    const attn::Sequence seq = attn::sentence_sequence(language, language.sentences()[205]);
    std::cout << "\none training sequence (verb at position "
              << language.sentences()[205].verb_position
              << "):\n  inputs:  " << language.text(seq.inputs)
              << "\n  targets: " << language.text(seq.targets) << '\n';
}

/// ## Training
///
/// The model is chapter 05's GPT with 2 blocks, d_model 32, 4 heads of 8, a feed-forward
/// width of 128 and a context of 16: about 27 thousand numbers. Each step draws 64 training sentences,
/// and attn::training_step() computes their gradient, stops if the loss or any gradient is
/// not finite (naming the first), clips and takes an AdamW step:
///
/// \show training.cpp training_step
///
/// The loop around it, attn::train_agreement_model(), draws the batches, follows the
/// learning-rate schedule above and hands each step's report to the program:
///
/// \show training.cpp train_agreement_model
///
/// Every 20 steps the program measures the model on the held-out sentences: the loss per
/// token, and for each sentence whether the right verb scores above the wrong one at the row
/// that predicts it:
///
/// \show training.cpp evaluate
///
/// The loss cannot reach 0: after "the", any of the ten nouns may follow, and so on. The
/// lowest loss any model can have is the language's own entropy per token: every one of the
/// 2,840 sentences equally likely, \f$\ln 2840\f$ nats spread over 8.52 tokens a sentence on
/// average, 0.933 nats per token (the program computes it).
///
/// \image html ch09_loss.svg "Training and held-out loss per token, against the steps"
///
/// \image html ch09_agreement.svg "Agreement on held-out attractor sentences, against the steps"
///
/// The accuracy does not climb with the loss. For the first steps the model learns which
/// words follow which (the loss falls fastest there) and says one verb for every subject:
/// exactly the majority baseline, 50%. Then, within a few dozen steps, it finds the subject
/// and the accuracy jumps to nearly 100%, held-out attractor sentences included; the loss
/// drops a second time at the same steps, by the bits the verb was costing. Just before the
/// jump the attractor accuracy dips below chance for a few measurements (the program prints
/// its lowest and where; about 40% near step 120): the model starts to use the nouns it
/// sees, the attractor among them, before it has settled on the subject. It never comes
/// near the nearest-noun baseline (0% on these sentences, computed by the program): its
/// subject always stands at the same position, and looking at a fixed position is as easy
/// for learned position embeddings as looking at the previous word. The gradient norm
/// column shows the clipping at work only at the start, where the first steps' gradients
/// are above 1.
struct Curves {
    std::vector<double> steps, train_loss, held_loss, attractor_accuracy, accuracy;
};

// The baseline that agrees the verb with the last noun before it: % of `sentences` right.
double nearest_noun_accuracy(const attn::Language& language,
                             const std::vector<attn::Sentence>& sentences) {
    std::size_t right = 0;
    for (const attn::Sentence& s : sentences) {
        std::optional<bool> nearest;
        for (std::size_t t = 0; t < s.verb_position; ++t)
            if (const auto n = language.plural_noun(s.tokens[t])) nearest = n;
        right += nearest == s.plural_subject;
    }
    return 100.0 * static_cast<double>(right) / static_cast<double>(sentences.size());
}

double language_entropy(const attn::Language& language) {
    double tokens = 0.0;
    for (const attn::Sentence& s : language.sentences())
        tokens += static_cast<double>(s.tokens.size());
    return std::log(static_cast<double>(language.sentences().size())) /
           (tokens / static_cast<double>(language.sentences().size()));
}

attn::Gpt train(const attn::Language& language, const attn::LanguageSplit& split, std::size_t steps,
                const std::filesystem::path& figures) {
    attn::section(std::cout, "Training");
    const attn::GptConfig config = attn::agreement_config(language.words().size());
    const float peak = 3e-3f;  // train_agreement_model's schedule, as printed
    const std::size_t batch_size = 64, every = 20;
    std::cout << "GPT: " << attn::total_parameters(config) << " parameters; " << steps
              << " steps of " << batch_size << " sentences, peak learning rate " << peak
              << "\nlowest possible loss (the language's entropy): " << std::fixed
              << std::setprecision(3) << language_entropy(language) << " nats per token\n\n"
              << " step   train loss   gradient norm   held-out loss   held-out accuracy   "
                 "attractors\n";
    Curves curves;
    double recent = 0.0, recent_norm = 0.0;
    std::size_t in_recent = 0, jump = 0, clipped = 0;
    const auto start = std::chrono::steady_clock::now();
    // After each step: the running means, and every 20 steps the held-out measures.
    const auto measure = [&](std::size_t step, const attn::StepReport& r,
                             const attn::GptWeights& weights) {
        recent += r.loss;
        recent_norm += r.gradient_norm;
        clipped += r.gradient_norm > 1.0;  // training_step's max_norm
        ++in_recent;
        if ((step + 1) % every == 0 || step + 1 == steps) {
            const attn::Agreement a =
                attn::evaluate(attn::Gpt(config, weights), language, split.held_out);
            curves.steps.push_back(static_cast<double>(step + 1));
            curves.train_loss.push_back(recent / static_cast<double>(in_recent));
            curves.held_loss.push_back(a.loss);
            curves.accuracy.push_back(100.0 * a.accuracy());
            curves.attractor_accuracy.push_back(100.0 * a.attractor_accuracy());
            if (jump == 0 && a.attractor_accuracy() >= 0.9) jump = step + 1;
            const double mean_norm = recent_norm / static_cast<double>(in_recent);
            recent = 0.0;
            recent_norm = 0.0;
            in_recent = 0;
            if ((step + 1) % 100 == 0 || step + 1 == steps || curves.steps.size() <= 3) {
                std::cout << std::setw(5) << step + 1 << std::setw(13) << curves.train_loss.back()
                          << std::setw(16) << mean_norm << std::setw(16) << a.loss
                          << std::setprecision(1) << std::setw(19) << curves.accuracy.back() << "%"
                          << std::setw(12) << curves.attractor_accuracy.back() << "%"
                          << std::setprecision(3) << '\n';
            }
        }
    };
    const attn::Gpt trained = attn::train_agreement_model(language, split.train, steps, measure);
    const double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    std::cout << std::defaultfloat << "\ntrained in " << std::setprecision(3) << seconds
              << " s (one thread; the measures every " << every << " steps included)\n"
              << "gradient norm: the mean of the last " << every << " steps, before clipping; "
              << clipped << " of " << steps << " steps were clipped to norm 1\n";
    std::vector<attn::Sentence> attractors;
    for (const attn::Sentence& s : split.held_out)
        if (s.attractor) attractors.push_back(s);
    const auto lowest =
        std::min_element(curves.attractor_accuracy.begin(), curves.attractor_accuracy.end());
    if (lowest != curves.attractor_accuracy.end()) {
        const std::size_t at = static_cast<std::size_t>(lowest - curves.attractor_accuracy.begin());
        std::cout << std::setprecision(1) << std::fixed
                  << "held-out attractor accuracy was lowest at step "
                  << static_cast<std::size_t>(curves.steps[at]) << ": " << *lowest << "%\n"
                  << std::defaultfloat;
    }
    if (jump != 0)
        std::cout << "held-out attractor accuracy first reached 90% at step " << jump << '\n';
    else
        std::cout << "held-out attractor accuracy never reached 90% (train for longer: --steps)\n";

    attn::write_svg_line_plot(
        figures / "ch09_loss.svg", curves.steps,
        {{"training (mean of the last 20 steps)", curves.train_loss},
         {"held out", curves.held_loss},
         {"the language's entropy",
          std::vector<double>(curves.steps.size(), language_entropy(language))}},
        "Chapter 09: loss per token", "training step", "cross-entropy (nats, log scale)", true);
    std::cout << "Figure written to " << (figures / "ch09_loss.svg").string() << '\n';
    attn::write_svg_line_plot(
        figures / "ch09_agreement.svg", curves.steps,
        {{"held-out attractor sentences", curves.attractor_accuracy},
         {"all held-out sentences", curves.accuracy},
         {"baseline: the majority verb", std::vector<double>(curves.steps.size(), 50.0)},
         {"baseline: the nearest noun",
          std::vector<double>(curves.steps.size(), nearest_noun_accuracy(language, attractors))}},
        "Chapter 09: subject-verb agreement", "training step", "% of verbs right");
    std::cout << "Figure written to " << (figures / "ch09_agreement.svg").string() << '\n';
    return trained;
}

/// The accuracy at the end of training beside the baselines a reader would guess, on the
/// held-out sentences with an attractor.
void show_accuracy(const attn::Gpt& model, const attn::Language& language,
                   const attn::LanguageSplit& split) {
    const attn::Agreement a = attn::evaluate(model, language, split.held_out);
    std::vector<attn::Sentence> attractors;
    for (const attn::Sentence& s : split.held_out)
        if (s.attractor) attractors.push_back(s);
    std::size_t train_plural = 0;
    for (const attn::Sentence& s : split.train) train_plural += s.plural_subject;
    const bool majority_plural = 2 * train_plural > split.train.size();
    const auto majority_right =
        std::count_if(attractors.begin(), attractors.end(),
                      [&](const auto& s) { return s.plural_subject == majority_plural; });
    const double nearest_share = nearest_noun_accuracy(language, attractors);
    std::cout << "\nheld-out attractor sentences (" << a.attractors << "), verbs right:\n"
              << std::fixed << std::setprecision(1) << "  the trained model      "
              << 100.0 * a.attractor_accuracy() << "%  (goal: 95%)\n"
              << "  the majority verb      "
              << 100.0 * static_cast<double>(majority_right) /
                     static_cast<double>(attractors.size())
              << "%  (always \"" << (majority_plural ? "were" : "was") << "\")\n"
              << "  the nearest noun       " << nearest_share
              << "%  (the verb agrees with the last noun before it)\n"
              << "all held-out sentences (" << a.sentences << "): " << 100.0 * a.accuracy() << "%\n"
              << std::defaultfloat;
}

/// ## What it learned
///
/// The heatmaps below are the attention weights of every head of the trained model on the
/// book's running sentence and on its plural twin. The row that chooses the verb is the
/// row of "cat", the word before it (the row of "was" already knows the verb and predicts
/// the adjective). The program looks for the head whose weight from that row goes most to
/// the subject ("dog", "dogs"), on both sentences, and names it: a head found by measuring,
/// not by design. Chapters 02 to 04 built such a head by hand (the designed heads of
/// \ref ch02_self_attention "chapter 02"); training found one of its own.
///
/// \image html ch09_heads_singular.svg "Every head of the trained model on the running sentence"
///
/// \image html ch09_heads_plural.svg "The same heads on its plural twin"
void show_heads(const attn::Gpt& model, const attn::Language& language,
                const std::filesystem::path& figures) {
    attn::section(std::cout, "What it learned");
    const std::vector<std::vector<std::string>> sentences = {
        {"the", "dog", "that", "chased", "the", "cat", "was", "tired", "."},
        {"the", "dogs", "that", "chased", "the", "cat", "were", "tired", "."}};
    const std::size_t verb = 6, subject = 1;  // in the sentence; +1 in the inputs
    const attn::GptConfig& c = model.config();
    std::vector<double> to_subject(c.n_layers * c.n_heads, 0.0);
    std::vector<std::vector<Matrix>> panels(sentences.size());
    std::vector<attn::Tokens> labels(sentences.size());
    attn::Tokens titles;
    for (std::size_t l = 0; l < c.n_layers; ++l)
        for (std::size_t h = 0; h < c.n_heads; ++h)
            titles.push_back("block " + std::to_string(l) + ", head " + std::to_string(h));
    for (std::size_t s = 0; s < sentences.size(); ++s) {
        attn::Sentence sentence;
        for (const std::string& w : sentences[s]) sentence.tokens.push_back(language.id(w));
        if (!language.accepts(sentence.tokens))
            throw std::logic_error("the example is not a sentence of the language");
        const attn::Sequence seq = attn::sentence_sequence(language, sentence);
        labels[s] = {"."};
        labels[s].insert(labels[s].end(), sentences[s].begin(), sentences[s].end() - 1);
        const attn::GptActivations f = attn::gpt_forward(model, seq.inputs);
        for (std::size_t l = 0; l < c.n_layers; ++l) {
            for (std::size_t h = 0; h < c.n_heads; ++h) {
                const Matrix p =
                    xt::view(f.blocks[l].attention.sequences[0].weights, h, xt::all(), xt::all());
                to_subject[l * c.n_heads + h] += p(verb, subject + 1) / 2.0;
                panels[s].push_back(p);
            }
        }
    }
    const std::size_t best = static_cast<std::size_t>(
        std::max_element(to_subject.begin(), to_subject.end()) - to_subject.begin());
    std::cout << "weight from the row that predicts the verb (\"cat\") to the subject, "
                 "mean of the two sentences:\n";
    for (std::size_t i = 0; i < to_subject.size(); ++i) {
        std::cout << "  " << std::left << std::setw(18) << titles[i] << std::right << std::fixed
                  << std::setprecision(2) << to_subject[i] << (i == best ? "   <- this head" : "")
                  << std::defaultfloat << '\n';
    }
    std::cout << "\nthe head that finds the subject: " << titles[best] << '\n';
    for (std::size_t s = 0; s < sentences.size(); ++s) {
        std::cout << "\nits weights on \"";
        for (std::size_t w = 0; w + 1 < sentences[s].size(); ++w)
            std::cout << (w ? " " : "") << sentences[s][w];
        std::cout << "\":\n";
        attn::print_heatmap(std::cout, panels[s][best], labels[s], labels[s],
                            attn::color_enabled());
    }
    const char* names[] = {"ch09_heads_singular.svg", "ch09_heads_plural.svg"};
    for (std::size_t s = 0; s < sentences.size(); ++s) {
        attn::write_svg_heatmaps(figures / names[s], panels[s], labels[s], labels[s], titles,
                                 "Chapter 09: the trained heads", c.n_heads);
        std::cout << "\nFigure written to " << (figures / names[s]).string();
    }
    std::cout << '\n';
}

/// ## The trained model, saved and used
///
/// The trained weights are worth keeping. attn::save_gpt() writes them in a small format
/// of the book's own: a header with the configuration, the tensors, and a checksum over all
/// of it, written beside the file and renamed at the end so that a failure leaves nothing
/// half-written. attn::load_gpt() checks each of these before it trusts a number: a file
/// of another kind, a size that does not fit its configuration, a damaged byte, each is an
/// error that names the file.
///
/// \show weights_file.cpp save_gpt load_gpt
///
/// Read back, the model writes: chapter 06's cache generates sentences, each from "." at
/// temperature 1 (the model's own distribution) until it writes the next ".", and the
/// grammar that made the language checks each one.
void show_saved_and_used(const attn::Gpt& trained, const attn::Language& language,
                         const attn::LanguageSplit& split,
                         const std::filesystem::path& model_file) {
    attn::section(std::cout, "The trained model, saved and used");
    attn::save_gpt(trained, model_file);
    const attn::Gpt model = attn::load_gpt(model_file);
    attn::GptWeights a = trained.weights(), b = model.weights();
    const std::vector<attn::ParameterView> before = attn::parameters(a),
                                           after = attn::parameters(b);
    std::size_t equal = 0;
    for (std::size_t t = 0; t < before.size(); ++t)
        equal += std::equal(before[t].data, before[t].data + before[t].size, after[t].data);
    std::cout << "saved and read back: " << std::filesystem::file_size(model_file) << " bytes; "
              << equal << " of " << before.size() << " weight tensors equal, every number\n";
    std::set<std::vector<std::size_t>> held_out;
    for (const attn::Sentence& s : split.held_out) held_out.insert(s.tokens);
    attn::Rng rng(7);
    attn::CachedGpt cached(model);
    const std::size_t count = 200, dot = language.id(".");
    std::size_t accepted = 0, novel = 0;
    std::vector<std::string> rejected;
    std::cout << "\nsentences it wrote (temperature 1):\n";
    for (std::size_t n = 0; n < count; ++n) {
        std::vector<std::size_t> sentence;
        Vector logits = xt::row(cached.prefill({dot}), 0);
        while (cached.position() < model.config().context) {
            const std::size_t next = attn::sample_token(logits, 1.0f, rng);
            sentence.push_back(next);
            if (next == dot) break;
            logits = cached.decode(next);
        }
        const bool ok = language.accepts(sentence);
        accepted += ok;
        novel += ok && held_out.count(sentence);
        if (n < 6) std::cout << "  " << language.text(sentence) << '\n';
        if (!ok) rejected.push_back(language.text(sentence));
    }
    std::cout << "\nthe ones the grammar rejects:\n";
    for (const std::string& r : rejected) std::cout << "  " << r << '\n';
    if (rejected.empty()) std::cout << "  none\n";
    std::cout << "\n"
              << accepted << " of " << count << " sentences (" << std::fixed << std::setprecision(1)
              << 100.0 * accepted / count << "%) are sentences of the grammar (goal: 95%); "
              << novel << " of them are held-out sentences, never trained on\n"
              << std::defaultfloat;
}

/// ## The cost of training
///
/// Inference keeps, from one token to the next, only the keys and values (chapter 06).
/// Training keeps far more: the backward pass of every piece needs what its forward pass
/// saw, so every block's intermediate results stay in memory until the backward pass has
/// used them (the struct BlockActivations). The program lists them for one sentence of 8
/// tokens, measured from the tensors attn::gpt_forward() returns, and then measures the
/// memory a whole training step allocates beyond what it starts with (64 sentences).
/// attn::gpt_gradients() runs the whole batch at once, its sentences' rows packed into one
/// matrix, so the activations of all 64 are alive together until the backward pass has
/// passed them: they, the gradients (as large as the weights) and the temporaries of the
/// backward pass make the step's peak. For a large model with long sequences the
/// activations are most of the memory of training; recomputing them in the backward pass
/// instead of keeping them (activation checkpointing) trades time for that memory.
void show_cost(const attn::Gpt& model, const attn::Language& language) {
    attn::section(std::cout, "The cost of training");
    const attn::Sequence seq = attn::sentence_sequence(language, language.sentences()[205]);
    const attn::GptActivations f = attn::gpt_forward(model, seq.inputs);
    const auto kib = [](std::size_t floats) { return static_cast<double>(floats) * 4.0 / 1024.0; };
    const attn::BlockActivations& b = f.blocks[0];
    const attn::SequenceHeads& heads = b.attention.sequences[0];
    struct Row {
        const char* name;
        std::size_t floats;
    };
    const std::vector<Row> rows = {{"x, the block's input", b.x.size()},
                                   {"LN1(x)", b.a.size()},
                                   {"Q, K, V", heads.q.size() + heads.k.size() + heads.v.size()},
                                   {"attention weights P", heads.weights.size()},
                                   {"merged heads", b.attention.merged.size()},
                                   {"attention output", b.attention.output.size()},
                                   {"h = x + attention", b.h.size()},
                                   {"LN2(h)", b.b.size()},
                                   {"W1's output, GELU's input", b.hidden.size()},
                                   {"GELU's output", b.gelu.size()}};
    std::size_t per_block = 0;
    std::cout << "kept for the backward pass, per block, T = " << seq.inputs.size() << ":\n";
    for (const Row& r : rows) {
        std::cout << "  " << std::left << std::setw(28) << r.name << std::right << std::setw(7)
                  << r.floats << " floats\n";
        per_block += r.floats;
    }
    const std::size_t blocks = f.blocks.size();
    const std::size_t training =
        per_block * blocks + f.x.size() + f.final_norm.size() + f.logits.size();
    const std::size_t inference = 2 * heads.k.size() * blocks;  // the KV cache
    std::cout << std::fixed << std::setprecision(2) << "\nall of it, " << blocks
              << " blocks and the output: " << training << " floats (" << kib(training)
              << " KiB)\nwhat inference keeps (the KV cache): " << inference << " floats ("
              << kib(inference) << " KiB), " << std::setprecision(1)
              << static_cast<double>(training) / static_cast<double>(inference) << " times less\n"
              << std::defaultfloat;

    // The memory of one whole step, measured: every allocation counted.
    attn::GptWeights weights = model.weights();
    attn::AdamW optimiser(weights);
    std::vector<attn::Sequence> batch(64, seq);
    const std::size_t base = attn::bytes_in_use();
    attn::reset_peak_bytes();
    attn::training_step(model.config(), weights, optimiser, batch, 1e-4f);
    const double model_kib = kib(attn::total_parameters(model.config()));
    std::cout << std::fixed << std::setprecision(0) << "\none training step of 64 sentences of "
              << seq.inputs.size() << " tokens allocated at most "
              << static_cast<double>(attn::peak_bytes() - base) / 1024.0
              << " KiB beyond the weights and AdamW's moments (the weights: " << model_kib
              << " KiB, the moments: " << 2 * model_kib << " KiB), of which the 64 sentences'"
              << " activations, kept together, are " << 64.0 * kib(training)
              << " KiB\n(the batch is one sentence 64 times over: its cost is that of 64 different"
              << " sentences of the same length)\n"
              << std::defaultfloat;
}

/// ## The program
///
/// The entry point reads `--steps N` (600 by default; the tests run 30), `--save FILE` to
/// keep the trained model, and `--load FILE` to skip training and look at a saved model.
/// attn::run_chapter() reports errors: a step count or file that is wrong ends the program
/// with a message and exit status 1.
constexpr const char* description =
    "The backward pass of chapter 05's GPT, checked; AdamW; a made-up language with\n"
    "subject-verb agreement; the GPT trained from zero, its heads, and what it writes.";

std::size_t positive_count(const attn::ChapterOption& option) {
    std::size_t used = 0;
    long long value = 0;
    try {
        value = std::stoll(option.value, &used);
    } catch (const std::exception&) {
        used = 0;
    }
    if (used != option.value.size() || value <= 0 || value > 1000000) {
        throw std::invalid_argument("--" + option.name + " must be a whole number from 1 to " +
                                    "1000000, got '" + option.value + "'");
    }
    return static_cast<std::size_t>(value);
}

int main(int argc, char** argv) {
    std::vector<attn::ChapterOption> options = {
        {"steps", "N", "training steps", "600", false},
        {"save", "FILE", "where to keep the trained model", "a temporary file, removed", false},
        {"load", "FILE", "a model saved by --save: look at it instead of training", "", false}};
    return attn::run_chapter(
        argc, argv, description, options, [&](const std::filesystem::path& figures) {
            attn::use_one_blas_thread();  // the times it prints are for one thread
            const std::size_t steps = positive_count(options[0]);
            const attn::Language language;
            attn::Rng rng(20);
            const attn::LanguageSplit split = attn::split_sentences(language, 0.2, rng);
            if (options[2].given) {
                const attn::Gpt model = attn::load_gpt(options[2].value);
                if (model.config().vocab_size != language.words().size())
                    throw std::invalid_argument(options[2].value + ": a model of " +
                                                std::to_string(model.config().vocab_size) +
                                                " tokens, not of this language's " +
                                                std::to_string(language.words().size()));
                show_accuracy(model, language, split);
                show_heads(model, language, figures);
                return;
            }
            show_gradient_check(language);
            show_schedule(steps, 3e-3f, std::max<std::size_t>(1, steps / 20));
            show_data(language, split);
            const attn::Gpt trained = train(language, split, steps, figures);
            show_accuracy(trained, language, split);
            show_heads(trained, language, figures);
            const std::filesystem::path file =
                options[1].given ? std::filesystem::path(options[1].value)
                                 : std::filesystem::temp_directory_path() / "attn_ch09_model.bin";
            show_saved_and_used(trained, language, split, file);
            if (!options[1].given) std::filesystem::remove(file);
            show_cost(trained, language);
        });
}

/// ## What comes next
///
/// The model trained here is small and its language tiny, but nothing in the code is
/// small: the same backward pass, optimiser and loop train GPT-2 when the matrices are
/// larger and the data is text. What remains is inference for many readers at once: the KV
/// cache paged like virtual memory, and batched decoding.
