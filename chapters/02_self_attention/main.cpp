/// # Chapter 02: Self-attention
///
/// In chapter 01 every query was written by hand. In a transformer nobody writes them:
/// each token's query, key and value are computed from the token itself by three learned
/// matrices. The sentence attends to itself, hence *self*-attention:
///
/// \f[ Q = X W_q, \qquad K = X W_k, \qquad V = X W_v, \qquad
///     \mathrm{SelfAttention}(X) = \mathrm{softmax}\!\left(\frac{Q K^\top}{\sqrt{d_k}}\right) V \f]
///
/// X `[T, d_model]` holds one token per row. `d_model` is the width of a token's
/// embedding, its number of features: 8 in the running example. In chapter 01 the
/// embeddings served directly as keys, so there d_k = d_model = 8; now the projections
/// choose d_k (and d_v) freely. \f$W_q\f$ and \f$W_k\f$ are `[d_model, d_k]`, \f$W_v\f$
/// is `[d_model, d_v]`. What is new in this chapter is only
/// the three projections: the attention itself is chapter 01's
/// attn::scaled_dot_product_attention(), reused unchanged.
///
/// The chapter shows a head whose projections were designed to find the subject of a
/// verb, an untrained head with random projections, that the matrix form is chapter 01
/// applied query by query, and that self-attention cannot see word order.
#include "chapters/01_single_head_attention/running_example.hpp"
#include "chapters/01_single_head_attention/single_head_attention.hpp"
#include "chapters/02_self_attention/self_attention.hpp"

#include "common/chapter_program.hpp"
#include "common/heatmap.hpp"
#include "common/print.hpp"
#include "common/random.hpp"

#include <xtensor/xsort.hpp>
#include <xtensor/xview.hpp>

#include <cmath>
#include <filesystem>
#include <iomanip>
#include <iostream>

using attn::Matrix;
using attn::Tokens;
using attn::Vector;

/// ## Projections: what a token asks, offers and hands over
///
/// A projection is a matrix product: row t of \f$X W_q\f$ is token t's query, a mix of
/// the rows of \f$W_q\f$ weighted by the token's features. Row f of \f$W_q\f$ says what
/// a token *with feature f* looks for. We design one head by hand, on the running
/// example's features (det, noun, animal, main, relative, verb, adj, past):
///
/// - a verb or an adjective looks for an animal noun: the one it is about;
/// - a token looks for tokens of its own clause (main or relative);
/// - a determiner looks for a noun, a noun for a verb.
///
/// The keys and the values are the features themselves (\f$W_k = W_v = I\f$), so that the
/// query alone decides where the head looks. A trained model learns all three.
/// attn::designed_head() builds these matrices; the program prints \f$W_q\f$ and the
/// queries it produces. A projection checks its shapes and is one matrix product:
///
/// \show self_attention.cpp project project_qkv
void show_projections(const attn::RunningExample& ex) {
    attn::section(std::cout, "Projections: what a token asks, offers and hands over");
    const attn::Projections p = attn::designed_head();
    std::cout << "W_q [d_model = 8, d_k = 8]: row = a feature the token has, column = a feature "
                 "it looks for\n\n";
    attn::print_matrix(std::cout, p.w_q, ex.features, ex.features, 0);
    std::cout << "\nQueries Q = X W_q, one row per token:\n\n";
    attn::print_matrix(std::cout, attn::project(ex.embeddings, p.w_q), ex.tokens, ex.features, 0);
}

/// ## A designed head
///
/// Self-attention with those projections. Read the rows: "was" and "tired" put most of
/// their weight on "dog", their subject, although "cat" is nearer; "chased" finds "cat",
/// the animal of its own clause; each "the" finds the noun of its clause. This is what
/// self-attention is for: every token gathers the context it needs, wherever it is. The
/// whole head is the three projections and chapter 01's attention:
///
/// \show self_attention.cpp self_attention
///
/// \image html ch02_designed.svg "A designed head: verbs and adjectives find their animal"
void show_designed_head(const attn::RunningExample& ex, const std::filesystem::path& figures) {
    attn::section(std::cout, "A designed head");
    const attn::AttentionResult r = attn::self_attention(ex.embeddings, attn::designed_head());
    attn::print_heatmap(std::cout, r.weights, ex.tokens, ex.tokens, attn::color_enabled(stdout));
    attn::write_svg_heatmap(figures / "ch02_designed.svg", r.weights, ex.tokens, ex.tokens,
                            "Chapter 02: a designed self-attention head");
    std::cout << "\nOutput of \"was\" (its value mix, one number per feature):\n";
    attn::print_vector(std::cout, xt::row(r.output, 6), ex.features, 2);
}

/// ## An untrained head
///
/// Before training, the projections are random. attn::random_projections() draws them
/// from \f$N(0, 1/d_{model})\f$ (seed 2), a common initialisation that keeps the projected
/// vectors at about the scale of the inputs. The weights come out spread out and without
/// meaning: training is what turns this into the pattern above.
///
/// \show self_attention.cpp random_projections
///
/// \image html ch02_random.svg "An untrained head: random projections, diffuse weights"
void show_random_head(const attn::RunningExample& ex, const std::filesystem::path& figures) {
    attn::section(std::cout, "An untrained head");
    attn::Rng rng(2);
    const attn::Projections p = attn::random_projections(8, 8, 8, rng);
    const attn::AttentionResult r = attn::self_attention(ex.embeddings, p);
    attn::print_heatmap(std::cout, r.weights, ex.tokens, ex.tokens, attn::color_enabled(stdout));
    attn::write_svg_heatmap(figures / "ch02_random.svg", r.weights, ex.tokens, ex.tokens,
                            "Chapter 02: an untrained head (random projections, seed 2)");
}

/// ## How focused is each query?
///
/// One number per query summarises a row of weights: its entropy,
/// \f$H_i = -\sum_j w_{ij} \ln w_{ij}\f$. It is 0 when the query takes everything from
/// one key and \f$\ln T\f$ (2.08 for T = 8) when it spreads evenly over all of them.
/// attn::attention_entropy() computes it; the designed head is far more focused than the
/// random one.
///
/// \show self_attention.cpp attention_entropy
void show_entropy(const attn::RunningExample& ex) {
    attn::section(std::cout, "How focused is each query?");
    attn::Rng rng(2);
    const Vector designed =
        attn::attention_entropy(attn::self_attention(ex.embeddings, attn::designed_head()).weights);
    const Vector random = attn::attention_entropy(
        attn::self_attention(ex.embeddings, attn::random_projections(8, 8, 8, rng)).weights);
    std::cout << "entropy in nats (0 = one key, " << std::fixed << std::setprecision(2)
              << std::log(8.0) << " = all 8 keys equally)\n\n"
              << "  query     designed   random\n";
    for (std::size_t i = 0; i < ex.tokens.size(); ++i) {
        std::cout << "  " << std::left << std::setw(8) << ex.tokens[i] << std::right
                  << std::setw(10) << designed(i) << std::setw(9) << random(i) << '\n';
    }
    std::cout << std::defaultfloat;
}

/// ## The matrix form is chapter 01, query by query
///
/// The matrix formula hides a loop: row i of the output is what chapter 01's
/// attn::attend() gives for query i over all keys and values. Computing it both ways and
/// comparing shows that nothing else is going on. The two differ only by float rounding:
/// the matrix form sums in a different order.
void show_query_by_query(const attn::RunningExample& ex) {
    attn::section(std::cout, "The matrix form is chapter 01, query by query");
    attn::Rng rng(2);
    const attn::Projections p = attn::random_projections(8, 8, 8, rng);
    const attn::QKV qkv = attn::project_qkv(ex.embeddings, p);
    const attn::AttentionResult matrix_form = attn::self_attention(ex.embeddings, p);
    float worst = 0.0f;
    for (std::size_t i = 0; i < ex.tokens.size(); ++i) {
        const attn::Attention one = attn::attend(xt::row(qkv.q, i), qkv.k, qkv.v);
        worst = std::max(worst, xt::amax(xt::abs(one.output - xt::row(matrix_form.output, i)))());
    }
    std::cout << "max |matrix form - attend() per query| over all outputs: " << std::scientific
              << std::setprecision(1) << worst << std::defaultfloat << '\n';
}

/// ## Self-attention does not see word order
///
/// Shuffle the tokens and self-attention gives the same outputs, shuffled the same way.
/// With P a permutation of the rows:
///
/// \f[ \mathrm{SelfAttention}(P X) = P \, \mathrm{SelfAttention}(X) \f]
///
/// This is *permutation equivariance*. It holds because every token is projected on its
/// own and the softmax sums over keys, which does not care about their order. So to
/// self-attention "the dog chased the cat" and "the cat chased the dog" contain the same
/// words and nothing else: the output for "dog" is the same in both. That is why
/// transformers give attention the positions: GPT-2 adds a learned position vector to each
/// embedding (chapter 05), Llama rotates queries and keys by their position in every layer
/// (chapter 08).
///
/// Below, the sentence is reversed with attn::permute_rows(), run through the untrained
/// head, and un-reversed.
///
/// \show self_attention.cpp permute_rows
void show_equivariance(const attn::RunningExample& ex) {
    attn::section(std::cout, "Self-attention does not see word order");
    attn::Rng rng(2);
    const attn::Projections p = attn::random_projections(8, 8, 8, rng);
    const std::vector<std::size_t> reverse{7, 6, 5, 4, 3, 2, 1, 0};
    const Matrix original = attn::self_attention(ex.embeddings, p).output;
    const Matrix reversed =
        attn::self_attention(attn::permute_rows(ex.embeddings, reverse), p).output;
    std::cout << "Output of \"dog\" (row 1 in the original order, row 6 in the reversed):\n"
              << "  original  " << attn::format_vector(xt::row(original, 1), 3) << '\n'
              << "  reversed  " << attn::format_vector(xt::row(reversed, 6), 3) << '\n';
    const float worst = xt::amax(xt::abs(attn::permute_rows(reversed, reverse) - original))();
    std::cout << "max |SelfAttention(PX) - P SelfAttention(X)| = " << std::scientific
              << std::setprecision(1) << worst << std::defaultfloat << '\n';
}

/// ## The program
///
/// The entry point runs the sections above in order; attn::run_chapter() reads the
/// options (`--figures DIR`, `--help`) and reports errors.
constexpr const char* description =
    "Walks through self-attention on the sentence\n"
    "\"the dog that chased the cat was tired\" and prints every step.";

int main(int argc, char** argv) {
    return attn::run_chapter(argc, argv, description, [](const std::filesystem::path& figures) {
        const attn::RunningExample& ex = attn::running_example();
        show_projections(ex);
        show_designed_head(ex, figures);
        show_random_head(ex, figures);
        show_entropy(ex);
        show_query_by_query(ex);
        show_equivariance(ex);
    });
}

/// ## What comes next
///
/// Every token here could attend to every other, including the ones after it. A model
/// that predicts the next word cannot be allowed to: it would simply read the answer.
/// Chapter 03 masks the future out.
