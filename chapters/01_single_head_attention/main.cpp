/// # Chapter 01: Single-head attention
///
/// Attention is a way for one word to gather information from other words. The word
/// asks a question (its *query*), every word offers a description of itself (its *key*)
/// and something to hand over (its *value*). The question is compared with every
/// description, the comparisons become weights that sum to one, and the answer is the
/// weighted average of what was offered.
///
/// This chapter builds that one step at a time for a single query, then for every
/// query of a sentence at once. The program below is the chapter: each section's code is
/// followed by what it printed when the book was built. Run it yourself with
///
///     build/chapters/01_single_head_attention/ch01_single_head_attention
///
/// The pieces it uses (scores, softmax, attend, scaled dot-product attention) live in
/// single_head_attention.hpp, which later chapters reuse.
#include "chapters/01_single_head_attention/running_example.hpp"
#include "chapters/01_single_head_attention/single_head_attention.hpp"

#include "common/chapter_program.hpp"
#include "common/heatmap.hpp"
#include "common/print.hpp"
#include "common/random.hpp"

#include <cmath>
#include <filesystem>
#include <iomanip>
#include <iostream>
#include <string>

using attn::Matrix;
using attn::Tokens;
using attn::Vector;

/// ## The running example
///
/// Every chapter uses the same sentence, so that you can compare the heatmaps:
/// "the dog that chased the cat was tired". The interesting question in it is a
/// grammatical one: *who was tired?* The nearest noun before "was" is "cat", but the
/// answer is "dog". Attention lets "was" reach back past the relative clause to find it.
///
/// Real models learn their embeddings. Here they are written by hand, with one meaning per
/// column, so that every number can be read: each token is a vector of 8 features
/// (`d_k = 8`), 1 where the token has the feature. attn::running_example() holds them, so
/// that every chapter starts from the same numbers. For now the keys and the values are
/// the embeddings themselves; chapter 02 computes queries, keys and values through
/// projection matrices, which a real model learns.
using Example = attn::RunningExample;

void show_example(const Example& ex) {
    attn::section(std::cout, "The running example");
    std::cout << "Embeddings [T = " << ex.embeddings.shape(0)
              << ", d_k = " << ex.embeddings.shape(1) << "], one row per token:\n\n";
    attn::print_matrix(std::cout, ex.embeddings, ex.tokens, ex.features, 0);
}

/// ## Scores
///
/// The query of "was" asks: *which animal is the subject of my clause?* In feature terms
/// it looks for `noun`, `animal` and `main`, so those entries are large (5) and the rest
/// zero. A key that has a feature the query looks for adds to the match; the match of a
/// query \f$q\f$ with key \f$k_j\f$ is their dot product:
///
/// \f[ s_j = q \cdot k_j = \sum_{i=1}^{d_k} q_i \, k_{j,i} \f]
///
/// "dog" has all three features, "cat" two of them (it is in the relative clause), so
/// "dog" scores highest. attn::dot_scores() is that sum, once per key:
///
/// \show single_head_attention.cpp dot_scores
Vector query_of_was() {
    return Vector{0, 5, 5, 5, 0, 0, 0, 0};
}

void show_scores(const Example& ex) {
    attn::section(std::cout, "Scores");
    const Vector q = query_of_was();
    std::cout << "query of \"was\" = " << attn::format_vector(q, 0) << "\n\n";
    std::cout << "Scores s_j = q . k_j, one per key:\n";
    attn::print_vector(std::cout, attn::dot_scores(q, ex.embeddings), ex.tokens, 1);
}

/// ## Softmax: from scores to weights
///
/// Scores can be any real numbers. To average the values we need weights that are
/// non-negative and sum to one. Softmax does that while keeping the order of the scores,
/// and it exaggerates differences: a score 1 higher gets \f$e \approx 2.7\f$ times the
/// weight.
///
/// \f[ w_j = \mathrm{softmax}(s)_j = \frac{e^{s_j}}{\sum_{l} e^{s_l}} \f]
///
/// The scores are divided by \f$\sqrt{d_k}\f$ first; the section "Why divide by
/// sqrt(d_k)" below shows why. Written as the formula reads, softmax is three lines:
///
/// \show single_head_attention.cpp naive_softmax
void show_weights(const Example& ex) {
    attn::section(std::cout, "Softmax: from scores to weights");
    const Vector q = query_of_was();
    const float scale = 1.0f / std::sqrt(static_cast<float>(q.size()));
    const Vector w = attn::softmax(attn::dot_scores(q, ex.embeddings) * scale);
    std::cout << "Weights w = softmax(s / sqrt(d_k)), d_k = " << q.size() << ":\n";
    attn::print_vector(std::cout, w, ex.tokens, 3);
    std::cout << "\nThe weights sum to " << std::fixed << std::setprecision(6) << xt::sum(w)()
              << std::defaultfloat << "; \"was\" gives \"dog\" " << std::setprecision(2)
              << w(1) / w(5) << " times the weight of \"cat\".\n";
}

/// ## Why softmax subtracts the maximum
///
/// The numbers a softmax turns into weights are called *logits*; here they are the
/// (scaled) scores. Written as the formula reads, softmax overflows: a float holds at most
/// about \f$3.4 \times 10^{38} \approx e^{88.7}\f$, so \f$e^{100}\f$ is infinite and
/// \f$\infty / \infty\f$ is NaN. Logits of that size can occur in a real model, and in 16-bit floats e^x overflows
/// already at x = 11.
///
/// The fix costs nothing: for any constant \f$m\f$,
///
/// \f[ \frac{e^{s_j - m}}{\sum_l e^{s_l - m}} = \frac{e^{-m} e^{s_j}}{e^{-m} \sum_l e^{s_l}}
///     = \frac{e^{s_j}}{\sum_l e^{s_l}} \f]
///
/// Choosing \f$m = \max_l s_l\f$ makes every exponent at most 0, so nothing overflows,
/// and the largest term is \f$e^0 = 1\f$, so the sum is at least 1 and never underflows
/// to 0. attn::softmax() does exactly this; attn::naive_softmax() does not. The loop that
/// does the work, softmax_in_place(), runs on one row of floats wherever the book needs a
/// softmax: attn::softmax() for a vector, attn::softmax_rows() for each row of a matrix,
/// and the later chapters' attention. Two rows need a decision: a row holding a NaN gives
/// NaN everywhere (as PyTorch does), and a row whose logits are all \f$-\infty\f$ (every
/// key masked, chapter 03) gives zeros, attention to nothing.
///
/// \show single_head_attention.cpp softmax_in_place softmax softmax_rows (exercise 1.2)
void show_stability() {
    attn::section(std::cout, "Why softmax subtracts the maximum");
    for (const Vector& logits :
         {Vector{1, 2, 3}, Vector{100, 101, 102}, Vector{10000, 10001, 10002}}) {
        std::cout << "logits " << attn::format_vector(logits, 0) << '\n'
                  << "  naive  " << attn::format_vector(attn::naive_softmax(logits), 3) << '\n'
                  << "  stable " << attn::format_vector(attn::softmax(logits), 3) << '\n';
    }
    std::cout << "\nAdding a constant to every logit changes nothing, so all three should be the\n"
                 "same. The naive version breaks as soon as e^x overflows.\n";
}

/// ## The output: a weighted sum of values
///
/// The answer to the query is the weighted average of the values:
///
/// \f[ o = \sum_j w_j \, v_j \f]
///
/// attn::attend() puts the three steps together. Because the weights favour "dog", the
/// output is mostly the embedding of "dog": the `noun`, `animal` and `main` features are
/// strong, the `relative` feature (from "cat") weak. The word "was" now carries what it
/// learned about its subject.
///
/// \show single_head_attention.cpp attend
void show_output(const Example& ex) {
    attn::section(std::cout, "The output: a weighted sum of values");
    const attn::Attention a = attn::attend(query_of_was(), ex.embeddings, ex.embeddings);
    std::cout << "output of \"was\", one number per feature:\n";
    attn::print_vector(std::cout, a.output, ex.features, 2);
}

/// ## Why divide by sqrt(d_k)
///
/// If the entries of \f$q\f$ and \f$k\f$ are independent with mean 0 and variance 1,
/// their dot product is a sum of \f$d_k\f$ such products, so its variance is \f$d_k\f$
/// and its standard deviation \f$\sqrt{d_k}\f$. Real models use \f$d_k\f$ of 64 or 128:
/// scores spread over tens of units, and softmax of such scores puts nearly all the
/// weight on one key. Such a *saturated* softmax barely moves when a score moves: its
/// *gradient* (how much the output changes per small change of an input, which training
/// uses to decide how to adjust every weight of the model) is almost zero, so the model
/// stops learning. Dividing by \f$\sqrt{d_k}\f$ brings the scores back to variance 1
/// whatever \f$d_k\f$ is. With the keys as the rows of a matrix K, every score at once
/// is the product \f$K q\f$:
///
/// \f[ w = \mathrm{softmax}\!\left(\frac{K q}{\sqrt{d_k}}\right) \f]
///
/// The experiment: random queries and 8 random keys (seed 42), 500 trials per
/// \f$d_k\f$. "max weight" is the largest weight of a query, averaged over trials; 1.00
/// means all attention on one key.
void show_scaling() {
    attn::section(std::cout, "Why divide by sqrt(d_k)");
    attn::Rng rng(42);
    constexpr std::size_t keys = 8, trials = 500;
    std::cout << "   d_k   std of q.k   max weight, unscaled   max weight, scaled\n";
    for (std::size_t d_k : {4, 16, 64, 256, 1024}) {
        double sum_sq = 0, max_unscaled = 0, max_scaled = 0;
        for (std::size_t t = 0; t < trials; ++t) {
            const Vector q = attn::random_normal(d_k, rng);
            const Matrix k = attn::random_normal(keys, d_k, rng);
            const Vector s = attn::dot_scores(q, k);
            sum_sq += static_cast<double>(xt::sum(s * s)());
            max_unscaled += static_cast<double>(xt::amax(attn::softmax(s))());
            max_scaled += static_cast<double>(
                xt::amax(attn::softmax(s / std::sqrt(static_cast<float>(d_k))))());
        }
        std::cout << std::setw(6) << d_k << std::fixed << std::setprecision(1) << std::setw(13)
                  << std::sqrt(sum_sq / (trials * keys)) << std::setprecision(2) << std::setw(23)
                  << max_unscaled / trials << std::setw(21) << max_scaled / trials << '\n'
                  << std::defaultfloat;
    }
    std::cout << "\nUnscaled, the standard deviation grows like sqrt(d_k) and softmax saturates;\n"
                 "scaled, the weights stay equally spread for every d_k.\n";
}

/// ## Every query at once
///
/// Each token asks its own question. Written as rows of a matrix \f$Q\f$
/// `[T_q, d_k]`, all scores are one matrix product, and softmax runs along each row:
///
/// \f[
///   \mathrm{Attention}(Q, K, V) = \mathrm{softmax}\!\left(\frac{Q K^\top}{\sqrt{d_k}}\right) V
/// \f]
///
/// Row \f$i\f$ of the weights is exactly what attn::attend() computes for query \f$i\f$;
/// attn::scaled_dot_product_attention() just does all rows in two matrix products:
///
/// \show single_head_attention.cpp scaled_scores scaled_dot_product_attention (exercise 1.4)
///
/// The
/// hand-written queries: "the" looks for its noun, "dog" for its verb, "that" and "was"
/// and "tired" for the subject, "chased" for its object, "cat" for its verb.
///
/// The heatmap shows the weights: rows are queries, columns are keys, each row sums to
/// one.
///
/// \image html ch01_attention.svg "Weights of the hand-written queries (rows) over the keys"
Matrix hand_written_queries() {
    return Matrix{
        // det noun anim main rel verb adj past
        {0, 5, 0, 5, 0, 0, 0, 0},  // the:    a noun in my clause
        {0, 0, 0, 5, 0, 5, 0, 0},  // dog:    the verb of my clause
        {0, 5, 5, 5, 0, 0, 0, 0},  // that:   the animal it refers back to
        {0, 5, 5, 0, 5, 0, 0, 0},  // chased: the animal in my clause (its object)
        {0, 5, 0, 0, 5, 0, 0, 0},  // the:    a noun in my clause
        {0, 0, 0, 0, 5, 5, 0, 0},  // cat:    the verb of my clause
        {0, 5, 5, 5, 0, 0, 0, 0},  // was:    the animal that is my subject
        {0, 5, 5, 5, 0, 0, 0, 0},  // tired:  the animal it describes
    };
}

void show_all_queries(const Example& ex, const std::filesystem::path& figures) {
    attn::section(std::cout, "Every query at once");
    const attn::AttentionResult r =
        attn::scaled_dot_product_attention(hand_written_queries(), ex.embeddings, ex.embeddings);
    attn::print_heatmap(std::cout, r.weights, ex.tokens, ex.tokens, attn::color_enabled(stdout));
    const auto svg = figures / "ch01_attention.svg";
    attn::write_svg_heatmap(svg, r.weights, ex.tokens, ex.tokens,
                            "Chapter 01: attention weights of hand-written queries");
    std::cout << "\nRow sums: " << attn::format_vector(xt::sum(r.weights, {1}), 3) << '\n'
              << "Figure written to " << svg.string() << '\n';
}

/// ## The program
///
/// The entry point runs the sections above in order; attn::run_chapter() reads the
/// options (`--figures DIR`, `--help`) and reports errors.
constexpr const char* description =
    "Walks through single-head attention on the sentence\n"
    "\"the dog that chased the cat was tired\" and prints every step.";

int main(int argc, char** argv) {
    return attn::run_chapter(argc, argv, description, [](const std::filesystem::path& figures) {
        const Example& ex = attn::running_example();
        show_example(ex);
        show_scores(ex);
        show_weights(ex);
        show_stability();
        show_output(ex);
        show_scaling();
        show_all_queries(ex, figures);
    });
}

/// ## What comes next
///
/// Here every query and key was written by hand. In a transformer they are computed
/// from the tokens themselves by learned matrices, \f$Q = X W_q\f$, \f$K = X W_k\f$,
/// \f$V = X W_v\f$: the sequence attends to itself. That is chapter 02.
