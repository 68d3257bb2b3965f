/// # Chapter 03: Causal masking
///
/// A GPT-style model is trained to predict the next token. Given "the dog that chased",
/// it should say "the". Training does this for every position of a sentence at once, in
/// one pass: position t reads tokens 0..t and predicts token t+1. If position t could
/// attend to token t+1, it would simply copy the answer, learn nothing, and fail when it
/// has to generate text, where token t+1 does not exist yet.
///
/// So the attention of a decoder (a model like GPT that generates text left to right) is
/// *causal*: query t may only see keys 0..t. This chapter
/// adds one thing to chapter 02, a mask applied to the scores before the softmax, and
/// shows why it must go exactly there.
#include "chapters/01_single_head_attention/running_example.hpp"
#include "chapters/01_single_head_attention/single_head_attention.hpp"
#include "chapters/02_self_attention/self_attention.hpp"
#include "chapters/03_causal_masking/causal_masking.hpp"

#include "common/chapter_program.hpp"
#include "common/heatmap.hpp"
#include "common/print.hpp"
#include "common/random.hpp"

#include <xtensor-blas/xlinalg.hpp>
#include <xtensor/xsort.hpp>
#include <xtensor/xview.hpp>

#include <cmath>
#include <filesystem>
#include <iomanip>
#include <iostream>

using attn::Mask;
using attn::Matrix;
using attn::Tokens;
using attn::Vector;

/// ## Next-token prediction
///
/// One sentence gives seven training examples, one per position. Each may use only what
/// is to its left:
void show_next_token(const attn::RunningExample& ex) {
    attn::section(std::cout, "Next-token prediction");
    for (std::size_t t = 0; t + 1 < ex.tokens.size(); ++t) {
        std::string seen;
        for (std::size_t j = 0; j <= t; ++j) seen += (j ? " " : "") + ex.tokens[j];
        std::cout << "  position " << t << " sees  " << std::left << std::setw(34) << seen
                  << std::right << "-> predicts \"" << ex.tokens[t + 1] << "\"\n";
    }
}

/// ## The causal mask
///
/// The rule "query i sees keys j <= i" is a lower-triangular matrix of booleans,
/// attn::causal_mask(). The diagonal is included: a token may look at itself.
///
/// \show causal_masking.cpp causal_mask
void show_mask(const attn::RunningExample& ex) {
    attn::section(std::cout, "The causal mask");
    attn::print_mask(std::cout, attn::causal_mask(ex.tokens.size()), ex.tokens, ex.tokens);
}

/// ## Masking the scores with -inf
///
/// Set every forbidden score to \f$-\infty\f$ and then take the softmax as before:
///
/// \f[ w_{ij} = \frac{e^{s_{ij}}}{\sum_{l \le i} e^{s_{il}}} \text{ for } j \le i, \qquad
///     w_{ij} = e^{-\infty} = 0 \text{ for } j > i. \f]
///
/// Forbidden keys get a weight of exactly 0, and the allowed ones still sum to one,
/// because they share out the whole weight among themselves. attn::masked_softmax() does
/// this with chapter 01's softmax, which already treats -inf correctly, and
/// attn::masked_attention() is chapter 01's attention with the mask in between:
///
/// \show causal_masking.cpp apply_mask masked_softmax (exercise 3.2)
///
/// \show causal_masking.cpp masked_attention
///
/// Here is chapter 02's designed head, now causal. "was" and "tired" still find "dog",
/// which is in their past. "dog" wanted its verb "was", but "was" is in its future: it
/// now has to spread its attention over what it can see. The first "the" sees only
/// itself.
///
/// \image html ch03_causal.svg "The designed head of chapter 02 with the causal mask"
void show_causal_head(const attn::RunningExample& ex, const std::filesystem::path& figures) {
    attn::section(std::cout, "Masking the scores with -inf");
    const attn::AttentionResult r =
        attn::causal_self_attention(ex.embeddings, attn::designed_head());
    attn::print_heatmap(std::cout, r.weights, ex.tokens, ex.tokens, attn::color_enabled(stdout));
    attn::write_svg_heatmap(figures / "ch03_causal.svg", r.weights, ex.tokens, ex.tokens,
                            "Chapter 03: causal self-attention (designed head)");
    std::cout << "\nRow sums: " << attn::format_vector(xt::sum(r.weights, {1}), 3) << '\n';
}

/// ## Masking after the softmax is wrong
///
/// A tempting shortcut: take the ordinary softmax, then zero the forbidden weights. It is
/// wrong twice. The rows no longer sum to one, so outputs shrink by a different factor at
/// every position. Worse, the future still leaks in: the denominator
/// \f$\sum_l e^{s_{il}}\f$ ran over *all* keys, future ones included, so the size of
/// every surviving weight depends on tokens the query must not see.
Matrix mask_after_softmax(const Matrix& scores, const Mask& allowed) {
    Matrix w = attn::softmax_rows(scores);  // the whole row, future included: too late
    return w * attn::mask_to_matrix(allowed);
}

void show_mask_after_softmax(const attn::RunningExample& ex) {
    attn::section(std::cout, "Masking after the softmax is wrong");
    const attn::QKV qkv = attn::project_qkv(ex.embeddings, attn::designed_head());
    const Matrix scores = attn::scaled_scores(qkv.q, qkv.k);
    const Mask causal = attn::causal_mask(ex.tokens.size());
    std::cout << "Row sums, mask before softmax: "
              << attn::format_vector(xt::sum(attn::masked_softmax(scores, causal), {1}), 2) << '\n'
              << "Row sums, mask after softmax:  "
              << attn::format_vector(xt::sum(mask_after_softmax(scores, causal), {1}), 2) << '\n';
}

/// ## The future cannot change the past
///
/// The test of a causal model: change a token, and no output before it may change.
/// Below, the last token "tired" is replaced by a random vector (seed 3) and each
/// position's output is compared with the original. With the mask before the softmax,
/// positions 0..6 do not move at all. Without a mask, and with the mask after the
/// softmax, every position changes: the future leaks into the past.
enum class Masking { before_softmax, none, after_softmax };

Matrix output_of(const Matrix& x, Masking masking) {
    const attn::Projections p = attn::designed_head();
    const attn::QKV qkv = attn::project_qkv(x, p);
    const Matrix scores = attn::scaled_scores(qkv.q, qkv.k);
    const Mask causal = attn::causal_mask(x.shape(0));
    const Matrix weights = masking == Masking::before_softmax ? attn::masked_softmax(scores, causal)
                           : masking == Masking::none         ? attn::softmax_rows(scores)
                                                              : mask_after_softmax(scores, causal);
    return xt::linalg::dot(weights, qkv.v);
}

void show_future_independence(const attn::RunningExample& ex) {
    attn::section(std::cout, "The future cannot change the past");
    attn::Rng rng(3);
    Matrix changed = ex.embeddings;
    xt::row(changed, 7) = attn::random_normal(8, rng);
    std::cout << "max |output change| per position after changing token 7 (\"tired\"):\n\n"
              << "  position           causal mask   no mask   mask after softmax\n";
    Matrix change = xt::zeros<float>({8, 3});
    const Masking variants[] = {Masking::before_softmax, Masking::none, Masking::after_softmax};
    for (std::size_t v = 0; v < 3; ++v) {
        const Matrix diff =
            xt::abs(output_of(changed, variants[v]) - output_of(ex.embeddings, variants[v]));
        for (std::size_t t = 0; t < 8; ++t) change(t, v) = xt::amax(xt::row(diff, t))();
    }
    for (std::size_t t = 0; t < 8; ++t) {
        std::cout << "  " << t << " " << std::left << std::setw(14) << ex.tokens[t] << std::right
                  << std::fixed << std::setprecision(4) << std::setw(13) << change(t, 0)
                  << std::setw(10) << change(t, 1) << std::setw(21) << change(t, 2) << '\n'
                  << std::defaultfloat;
    }
}

/// ## A row with every key masked
///
/// Some masks leave a query with nothing to see. A left-padded sequence is the common
/// case: two padding tokens come first, and no query may attend to padding, so the two
/// padding queries see no key at all. Every score of their rows is \f$-\infty\f$; the
/// formula gives \f$e^{-\infty} / \sum e^{-\infty} = 0/0\f$, NaN, and one NaN in a
/// matrix product turns every output it touches into NaN.
///
/// The book's softmax defines this case instead: a row with no allowed key attends to
/// nothing, so its weights (and its output) are all zeros.
void show_fully_masked() {
    attn::section(std::cout, "A row with every key masked");
    const Tokens tokens{"<pad>", "<pad>", "the", "dog", "was", "tired"};
    Mask allowed = attn::causal_mask(tokens.size());
    xt::view(allowed, xt::all(), xt::range(0, 2)) = false;  // nobody attends to padding
    attn::print_mask(std::cout, allowed, tokens, tokens);
    const Matrix scores = xt::zeros<float>({tokens.size(), tokens.size()});
    const Matrix weights = attn::masked_softmax(scores, allowed);
    std::cout << "\nmasked_softmax, row of the first <pad>: "
              << attn::format_vector(xt::row(weights, 0), 2)
              << "\nmasked_softmax, row of \"dog\":          "
              << attn::format_vector(xt::row(weights, 3), 2)
              << "\nthe formula as written, first <pad>:   "
              << attn::format_vector(
                     attn::naive_softmax(xt::row(attn::apply_mask(scores, allowed), 0)), 2)
              << '\n';
}

/// ## Sliding windows
///
/// Long contexts make full causal attention expensive: T queries times T keys. Mistral's
/// *sliding-window attention* lets each token see only the last w tokens, itself
/// included; information from further back still arrives, passed along through the
/// layers. attn::sliding_window_mask() builds it:
///
/// \show causal_masking.cpp sliding_window_mask
///
/// Here w = 3. With only one layer, the
/// cost shows: the subject of "tired" is out of view, and the head picks the only animal
/// it can see.
///
/// \image html ch03_window.svg "Causal attention with a sliding window of 3 tokens"
void show_sliding_window(const attn::RunningExample& ex, const std::filesystem::path& figures) {
    attn::section(std::cout, "Sliding windows");
    const Mask window = attn::sliding_window_mask(ex.tokens.size(), 3);
    attn::print_mask(std::cout, window, ex.tokens, ex.tokens);
    const attn::QKV qkv = attn::project_qkv(ex.embeddings, attn::designed_head());
    const attn::AttentionResult r = attn::masked_attention(qkv.q, qkv.k, qkv.v, window);
    std::cout << '\n';
    attn::print_heatmap(std::cout, r.weights, ex.tokens, ex.tokens, attn::color_enabled(stdout));
    attn::write_svg_heatmap(figures / "ch03_window.svg", r.weights, ex.tokens, ex.tokens,
                            "Chapter 03: designed head, sliding window of 3");
    std::cout << "\n\"tired\" can no longer see \"dog\", 6 tokens back, and settles for \"cat\".\n";
}

/// ## Padding a batch
///
/// To run several sentences at once they are padded to a common length T and stacked.
/// This time the padding goes on the right, after the real tokens, as training batches
/// usually do (the section above padded on the left, as batched generation does, so that
/// every sentence ends at the same position); the mask rule is the same either way: no
/// query attends to a padding key.
/// Each sentence then needs its own mask: causal, and no key beyond its real length.
/// attn::padded_causal_masks() builds one per sentence, `[B, T, T]`:
///
/// \show causal_masking.cpp padded_causal_masks
///
/// Here the batch holds sentences of 8, 5 and 3 tokens; the mask of the second:
void show_padding(const attn::RunningExample& ex) {
    attn::section(std::cout, "Padding a batch");
    const attn::BatchMask masks = attn::padded_causal_masks({8, 5, 3}, 8);
    const Mask second = xt::view(masks, 1, xt::all(), xt::all());
    Tokens tokens(ex.tokens.begin(), ex.tokens.begin() + 5);
    tokens.insert(tokens.end(), 3, "<pad>");
    attn::print_mask(std::cout, second, tokens, tokens);
    std::cout << "\nThe padding queries (rows 5..7) still see the real tokens: their outputs are\n"
                 "computed and then ignored, which is cheaper than cutting them out.\n";
}

/// ## The program
///
/// The entry point runs the sections above in order; attn::run_chapter() reads the
/// options (`--figures DIR`, `--help`) and reports errors.
constexpr const char* description =
    "Walks through causal masking on the sentence\n"
    "\"the dog that chased the cat was tired\" and prints every step.";

int main(int argc, char** argv) {
    return attn::run_chapter(argc, argv, description, [](const std::filesystem::path& figures) {
        const attn::RunningExample& ex = attn::running_example();
        show_next_token(ex);
        show_mask(ex);
        show_causal_head(ex, figures);
        show_mask_after_softmax(ex);
        show_future_independence(ex);
        show_fully_masked();
        show_sliding_window(ex, figures);
        show_padding(ex);
    });
}

/// ## What comes next
///
/// One head answers one question per token, with one softmax. A sentence holds many
/// relations at once. Chapter 04 runs several heads side by side.
