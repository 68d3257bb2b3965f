/// # Chapter 04: Multi-head attention
///
/// A head's softmax is one weighted average: each query spends its weight on one kind of
/// match. In chapter 03 the designed head gave each token one question, built from several
/// features, and one softmax to answer it: a token could not look for its subject and its
/// clause separately. A token needs several relations at once: its subject, the noun of its
/// determiner, the tokens of its own clause. Multi-head attention runs several heads side
/// by side, each with its own queries, keys and values, and mixes their outputs:
///
/// \f[ \mathrm{MultiHead}(X) = \mathrm{Concat}(\mathrm{head}_0, \dots, \mathrm{head}_{h-1})\, W_o,
///     \qquad \mathrm{head}_i = \mathrm{softmax}\!\left(\frac{Q_i K_i^\top}{\sqrt{d_{head}}}\right) V_i \f]
///
/// Splitting into heads adds no parameters: the heads share out the columns of chapter 02's
/// W_q, W_k and W_v. The one new matrix, the output projection W_o `[d_model, d_model]`,
/// mixes the heads' outputs back together. This chapter shows how (split, attend, merge), proves that the
/// loop over heads equals a batched form, counts what it costs, and ends with the variant
/// most recent models use, grouped-query attention, which lets heads share keys and
/// values. The pieces live in multi_head_attention.hpp.
#include "chapters/01_single_head_attention/running_example.hpp"
#include "chapters/03_causal_masking/causal_masking.hpp"
#include "chapters/04_multi_head_attention/multi_head_attention.hpp"

#include "common/chapter_program.hpp"
#include "common/heatmap.hpp"
#include "common/print.hpp"
#include "common/random.hpp"

#include <xtensor/xsort.hpp>
#include <xtensor/xview.hpp>

#include <cmath>
#include <cstdio>
#include <filesystem>
#include <iomanip>
#include <iostream>
#include <string>
#include <vector>

using attn::Matrix;
using attn::Tensor3;
using attn::Tokens;

/// ## Four heads, four relations
///
/// attn::designed_heads() splits chapter 02's `d_model = 8` into 4 heads of
/// `d_head = 2` columns and designs each head's queries and keys for one relation: a verb
/// or adjective looks for the animal of its clause; every token looks at its own clause;
/// a determiner looks for its noun; a noun looks for its verb. Each head has only two
/// query/key features, so it can ask exactly one question, and the four together answer
/// four. Below, for every token, the key each head attends to most, with its weight. A
/// token a head has no question for spreads its weight evenly over its own clause (0.24
/// on each of the 4 tokens of the main clause): the clause column of the head still
/// speaks, nothing else does.
///
/// \image html ch04_designed_heads.svg "Four designed heads on the running example"
std::vector<Matrix> head_weights(const Tensor3& weights) {
    std::vector<Matrix> heads;
    for (std::size_t h = 0; h < weights.shape(0); ++h)
        heads.emplace_back(xt::view(weights, h, xt::all(), xt::all()));
    return heads;
}

void print_strongest_keys(const attn::RunningExample& ex, const Tensor3& weights) {
    std::cout << "  query   ";
    for (std::size_t h = 0; h < weights.shape(0); ++h) std::cout << "  head " << h << "        ";
    std::cout << '\n';
    for (std::size_t i = 0; i < ex.tokens.size(); ++i) {
        std::cout << "  " << std::left << std::setw(8) << ex.tokens[i];
        for (std::size_t h = 0; h < weights.shape(0); ++h) {
            const auto row = xt::view(weights, h, i, xt::all());
            const std::size_t j = xt::argmax(row)();
            char cell[32];
            std::snprintf(cell, sizeof cell, "%s %.2f", ex.tokens[j].c_str(),
                          static_cast<double>(row(j)));
            std::cout << "  " << std::setw(14) << cell;
        }
        std::cout << std::right << '\n';
    }
}

void show_designed_heads(const attn::RunningExample& ex, const std::filesystem::path& figures) {
    attn::section(std::cout, "Four heads, four relations");
    const attn::MultiHeadResult r =
        attn::multi_head_attention(ex.embeddings, attn::designed_heads(), false);
    const Tokens relations = attn::designed_head_relations();
    for (const std::string& relation : relations) std::cout << "  " << relation << '\n';
    std::cout << '\n';
    print_strongest_keys(ex, r.weights);
    attn::write_svg_heatmaps(figures / "ch04_designed_heads.svg", head_weights(r.weights),
                             ex.tokens, ex.tokens, relations,
                             "Chapter 04: four designed heads, one relation each", 2);
    std::cout << "\nFigure written to " << (figures / "ch04_designed_heads.svg").string() << '\n';
}

/// ## Random heads
///
/// An untrained layer has random projections (seed 4, scale \f$1/\sqrt{d_{model}}\f$). Its
/// four heads already attend differently from each other, because each sees the tokens
/// through different columns; training turns such differences into relations like the
/// ones designed above.
///
/// \image html ch04_random_heads.svg "Four random heads on the running example"
void show_random_heads(const attn::RunningExample& ex, const std::filesystem::path& figures) {
    attn::section(std::cout, "Random heads");
    attn::Rng rng(4);
    const attn::MultiHeadWeights w = attn::random_multi_head_weights(8, 4, 4, rng);
    const attn::MultiHeadResult r = attn::multi_head_attention(ex.embeddings, w, false);
    print_strongest_keys(ex, r.weights);
    attn::write_svg_heatmaps(figures / "ch04_random_heads.svg", head_weights(r.weights), ex.tokens,
                             ex.tokens,
                             {"random head 0", "random head 1", "random head 2", "random head 3"},
                             "Chapter 04: four random heads (seed 4)", 2);
    std::cout << "\nFigure written to " << (figures / "ch04_random_heads.svg").string() << '\n';
}

/// ## Split and merge
///
/// The heads are not separate matrices: they are column blocks of the usual projections.
/// With `d_model = 6` and 3 heads, `d_head = 2`, and a row of \f$Q = X W_q\f$ splits as
///
///     columns   0 1 | 2 3 | 4 5
///     head        0 |   1 |   2
///
/// attn::split_heads() turns `[T, d_model]` into `[n_heads, T, d_head]`: head h takes
/// columns `h*d_head .. (h+1)*d_head - 1`, a contiguous block, exactly what PyTorch's
/// `q.view(T, n_heads, d_head).transpose(0, 1)` does. attn::merge_heads() puts the blocks
/// back side by side in head order. Splitting by stride (head h taking columns h, h+3,
/// ...) would also give three heads, but not the ones any trained checkpoint was trained
/// with.
///
/// \show multi_head_attention.cpp split_heads merge_heads
void show_split_and_merge() {
    attn::section(std::cout, "Split and merge");
    const Matrix q = {{0, 1, 2, 3, 4, 5}, {10, 11, 12, 13, 14, 15}};
    std::cout << "Q [T = 2, d_model = 6]:\n";
    attn::print_matrix(std::cout, q, {"t0", "t1"}, {}, 0);
    const Tensor3 heads = attn::split_heads(q, 3);
    for (std::size_t h = 0; h < 3; ++h) {
        std::cout << "\nhead " << h << " [T = 2, d_head = 2]:\n";
        attn::print_matrix(std::cout, xt::view(heads, h, xt::all(), xt::all()), {"t0", "t1"}, {},
                           0);
    }
    const Matrix merged = attn::merge_heads(heads);
    std::cout << "\nmerge_heads(split_heads(Q)) == Q: " << (merged == q ? "yes" : "no") << '\n';
}

/// ## The shapes, step by step
///
/// The whole layer on the running example with the designed heads, printing every
/// shape. Each head runs chapter 03's attn::masked_attention() (here with the causal
/// mask) on its own block; the only change inside a head is the scale, which is
/// \f$1/\sqrt{d_{head}}\f$, the width of the head's own queries and keys, not
/// \f$1/\sqrt{d_{model}}\f$. The layer, with attn::project() for \f$x W + b\f$ and
/// `head_of()` for one head's `[T, d_head]` block:
///
/// \show multi_head_attention.cpp project head_of attend_heads multi_head_attention (exercise 4.4)
void show_shapes(const attn::RunningExample& ex) {
    attn::section(std::cout, "The shapes, step by step");
    const attn::MultiHeadWeights w = attn::designed_heads();
    const auto shape = [](const auto& t) {
        std::string s = "[";
        for (std::size_t d = 0; d < t.dimension(); ++d)
            s += (d ? ", " : "") + std::to_string(t.shape(d));
        return s + "]" + std::string(s.size() < 11 ? 11 - s.size() : 0, ' ');
    };
    const Matrix q = attn::project(ex.embeddings, w.w_q);
    const Tensor3 heads = attn::split_heads(q, w.n_heads);
    const attn::MultiHeadResult r = attn::multi_head_attention(ex.embeddings, w, true);
    const Tensor3 outputs = attn::split_heads(r.heads, w.n_heads);  // each head's output
    std::cout << "  X                      " << shape(ex.embeddings) << "   [T, d_model]\n"
              << "  Q = X W_q              " << shape(q) << "   [T, d_model]\n"
              << "  split_heads(Q)         " << shape(heads) << "   [n_heads, T, d_head]\n"
              << "  weights, all heads     " << shape(r.weights) << "   [n_heads, T, T], causal\n"
              << "  one head's output      "
              << shape(Matrix(xt::view(outputs, 0, xt::all(), xt::all()))) << "   [T, d_head]\n"
              << "  merge_heads(outputs)   " << shape(r.heads) << "   [T, d_model]\n"
              << "  output = merged W_o    " << shape(r.output) << "   [T, d_model]\n";
}

/// ## The loop equals the batched form
///
/// attn::multi_head_attention() loops over the heads, which is the clearest way to read
/// it. A GPU instead computes every head at once, with the head as one more axis of the
/// tensors: \f$[n_{heads}, T, d_{head}] \times [n_{heads}, d_{head}, T]\f$ gives all scores
/// in one batched product. attn::multi_head_attention_batched() computes it that way, with
/// no loop over heads:
///
/// \show multi_head_attention.cpp multi_head_attention_batched
///
/// On random weights (seed 5, `d_model = 16`, T = 8), the two agree:
double max_difference(const Matrix& a, const Matrix& b) {
    return static_cast<double>(xt::amax(xt::abs(a - b))());
}

void show_batched() {
    attn::section(std::cout, "The loop equals the batched form");
    attn::Rng rng(5);
    const Matrix x = attn::random_normal(8, 16, rng);
    for (const auto& [n_heads, n_kv_heads] : {std::pair{4, 4}, std::pair{8, 2}}) {
        const attn::MultiHeadWeights w =
            attn::random_multi_head_weights(16, n_heads, n_kv_heads, rng);
        for (const bool causal : {false, true}) {
            const Matrix loop = attn::multi_head_attention(x, w, causal).output;
            const Matrix batched = attn::multi_head_attention_batched(x, w, causal);
            std::cout << "  " << n_heads << " query heads, " << n_kv_heads << " key/value heads, "
                      << (causal ? "causal:     " : "not causal: ")
                      << "max |loop - batched| = " << std::scientific << std::setprecision(1)
                      << max_difference(loop, batched) << std::defaultfloat << '\n';
        }
    }
}

/// ## What several heads cost
///
/// Splitting `d_model` into heads changes neither the projections nor their size: the
/// layer has \f$4\, d_{model}^2\f$ parameters whatever the number of heads. The work is
/// nearly the same too: the projections cost \f$8\, T\, d_{model}^2\f$ FLOPs (a
/// multiply-add counts 2), the scores and weighted sums \f$4\, T^2 d_{model}\f$ in total,
/// because n heads of width \f$d_{model}/n\f$ add up to one head of width \f$d_{model}\f$
/// (the softmax, a few operations per score, is left out). attn::attention_cost() counts:
///
/// \show multi_head_attention.cpp attention_cost
///
/// Here for GPT-2 small's width, `d_model = 768`, and T = 1024:
void show_cost() {
    attn::section(std::cout, "What several heads cost");
    std::cout << "  heads   d_head   parameters   GFLOPs\n";
    for (std::size_t n_heads : {1, 2, 4, 8}) {
        const attn::AttentionCost c = attn::attention_cost(768, n_heads, n_heads, 1024);
        std::cout << std::setw(7) << n_heads << std::setw(9) << 768 / n_heads << std::setw(13)
                  << c.parameters << std::setw(9) << std::fixed << std::setprecision(2)
                  << static_cast<double>(c.flops) / 1e9 << std::defaultfloat << '\n';
    }
}

/// ## Grouped-query and multi-query attention
///
/// When a model generates text, it keeps every past token's keys and values (chapter 06's
/// KV cache), and for long contexts that memory, not the arithmetic, is the limit.
/// *Multi-query attention* (Shazeer 2019) gives all query heads one shared key/value
/// head; *grouped-query attention* (Ainslie et al. 2023; Llama 2 70B, Llama 3, Mistral)
/// sits between: `n_kv_heads` key/value heads, each shared by
/// `n_heads / n_kv_heads` consecutive query heads. Query head h uses key/value head
/// \f$h / (n_{heads} / n_{kv\_heads})\f$ (attn::kv_head_for(), PyTorch's
/// `repeat_interleave` order, as Llama has it). W_k and W_v shrink to
/// `[d_model, n_kv_heads * d_head]`; W_q and W_o stay as they are. With
/// `n_kv_heads = n_heads` every query head has a key/value head of its own: that is
/// plain multi-head attention, and attn::multi_head_attention() is one function for all
/// three. And GQA is MHA whose key/value heads come in copies, as the program shows.
///
/// \show multi_head_attention.cpp kv_head_for
void show_grouped_query() {
    attn::section(std::cout, "Grouped-query and multi-query attention");
    std::cout << "Which key/value head each of 8 query heads uses:\n";
    for (std::size_t n_kv_heads : {8, 2, 1}) {
        std::cout << "  n_kv_heads = " << n_kv_heads << ":  ";
        for (std::size_t h = 0; h < 8; ++h) std::cout << attn::kv_head_for(h, 8, n_kv_heads) << ' ';
        std::cout << '\n';
    }
    // GQA is MHA whose key/value heads come in copies: attn::with_kv_heads_copied() repeats
    // each key/value head's columns for the query heads that share it.
    attn::Rng rng(6);
    const Matrix x = attn::random_normal(6, 16, rng);
    const attn::MultiHeadWeights gqa = attn::random_multi_head_weights(16, 4, 2, rng);
    const attn::MultiHeadWeights mha = attn::with_kv_heads_copied(gqa);
    std::cout
        << "\nGQA (4 query heads, 2 key/value heads) against MHA with each key/value head\n"
        << "copied for the query heads that share it: max difference "
        << max_difference(attn::multi_head_attention(x, gqa, true).output,
                          attn::multi_head_attention(x, mha, true).output)
        << "\n\nKeys and values kept per token and layer (chapter 06 keeps them for every token):\n"
        << "  model                        d_model  heads  kv heads   numbers per token\n";
    struct Config {
        const char* name;
        std::size_t d_model, n_heads, n_kv_heads;
    };
    for (const Config& c :
         {Config{"Llama-2-7B  (MHA)", 4096, 32, 32}, Config{"Llama-3-8B  (GQA)", 4096, 32, 8},
          Config{"the same, multi-query (MQA)", 4096, 32, 1}}) {
        const attn::AttentionCost cost =
            attn::attention_cost(c.d_model, c.n_heads, c.n_kv_heads, 1);
        std::cout << "  " << std::left << std::setw(29) << c.name << std::right << std::setw(7)
                  << c.d_model << std::setw(7) << c.n_heads << std::setw(10) << c.n_kv_heads
                  << std::setw(20) << cost.kv_per_token << '\n';
    }
}

/// ## The program
///
/// The entry point runs the sections above in order; attn::run_chapter() reads the
/// options (`--figures DIR`, `--help`) and reports errors.
constexpr const char* description =
    "Walks through multi-head and grouped-query attention on the sentence\n"
    "\"the dog that chased the cat was tired\" and prints every step.";

int main(int argc, char** argv) {
    return attn::run_chapter(argc, argv, description, [](const std::filesystem::path& figures) {
        const attn::RunningExample& ex = attn::running_example();
        show_designed_heads(ex, figures);
        show_random_heads(ex, figures);
        show_split_and_merge();
        show_shapes(ex);
        show_batched();
        show_cost();
        show_grouped_query();
    });
}

/// ## What comes next
///
/// Attention moves information between tokens; it does not yet compute anything with
/// it. Chapter 05 wraps multi-head attention into a transformer block: a layer norm
/// before it, a residual connection around it, and a feed-forward network after it.
