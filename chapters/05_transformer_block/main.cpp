/// # Chapter 05: The transformer block
///
/// Attention moves information between tokens, but it only averages: every output is a
/// weighted mean of value vectors. A transformer block adds the computation. Around
/// chapter 04's attention it puts a layer norm before, a residual connection around, and
/// after it a feed-forward network that works on each token alone, with its own norm and
/// residual. This is GPT-2's block:
///
/// \f[ h = x + \mathrm{MHA}(\mathrm{LN}_1(x)), \qquad y = h + \mathrm{FFN}(\mathrm{LN}_2(h)),
///     \qquad \mathrm{FFN}(z) = \mathrm{GELU}(z W_1 + b_1)\, W_2 + b_2 \f]
///
/// The chapter builds each piece, compares the two places the norm can go, shows the
/// variants Llama uses, counts GPT-2 small's 124 million parameters, and ends with a
/// complete (untrained) GPT that generates text. The pieces live in
/// transformer_block.hpp and gpt.hpp.
#include "chapters/05_transformer_block/gpt.hpp"
#include "chapters/05_transformer_block/transformer_block.hpp"

#include "common/chapter_program.hpp"
#include "common/plot.hpp"
#include "common/print.hpp"
#include "common/random.hpp"

#include <xtensor-blas/xlinalg.hpp>
#include <xtensor/xsort.hpp>
#include <xtensor/xview.hpp>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <iomanip>
#include <iostream>
#include <numeric>
#include <string>
#include <vector>

using attn::Matrix;
using attn::Vector;

/// ## Layer norm
///
/// Layer norm rescales each token's vector on its own: subtract the mean of its
/// `d_model` features, divide by their standard deviation, then apply a learned gain
/// \f$\gamma\f$ and bias \f$\beta\f$:
///
/// \f[ \mathrm{LN}(x) = \gamma \odot \frac{x - \mu}{\sqrt{\sigma^2 + \epsilon}} + \beta, \qquad
///     \mu = \frac{1}{d}\sum_i x_i, \quad \sigma^2 = \frac{1}{d}\sum_i (x_i - \mu)^2 \f]
///
/// The variance divides by d, not d - 1 (it describes these d numbers, it does not
/// estimate anything), and \f$\epsilon = 10^{-5}\f$ sits inside the square root, so a
/// constant vector normalises to 0 (and leaves the layer as the bias \f$\beta\f$), not a
/// division by zero. Whatever size a token's vector has
/// grown to, the next layer sees it at mean 0 and variance 1: a token whose features were
/// around 50 and one whose features were around 0.1 look alike in scale.
///
/// \show transformer_block.cpp layer_norm
double rms(const Matrix& x) {
    return std::sqrt(static_cast<double>(xt::mean(xt::square(x))()));
}

void show_layer_norm() {
    attn::section(std::cout, "Layer norm");
    const Matrix x{{48, 52, 50, 61, 39, 50, 45, 55},
                   {0.1f, -0.2f, 0.3f, 0.0f, 0.1f, 0.2f, -0.1f, 0.0f}};
    const Matrix y = attn::layer_norm(x, xt::ones<float>({8}), xt::zeros<float>({8}));
    std::cout << "two tokens, before:\n";
    attn::print_matrix(std::cout, x, {"big", "small"}, {}, 2);
    std::cout << "\nafter layer norm (gain 1, bias 0):\n";
    attn::print_matrix(std::cout, y, {"big", "small"}, {}, 2);
    for (std::size_t t = 0; t < 2; ++t) {
        const auto row = xt::row(y, t);
        std::cout << "  row " << t << ": mean " << std::fixed << std::setprecision(4)
                  << xt::mean(row)() << ", variance " << xt::mean(xt::square(row))()
                  << std::defaultfloat << '\n';
    }
}

/// ## GELU
///
/// Without a non-linearity between them, two linear layers are one:
/// \f$(x W_1) W_2 = x (W_1 W_2)\f$, and a stack of them can only ever compute a single
/// matrix product. The feed-forward network puts GELU between its two layers. GELU is a
/// smooth ReLU: \f$\mathrm{GELU}(x) = x\,\Phi(x)\f$, x times the probability that a
/// standard normal number is below x. GPT-2 computes it with a tanh approximation,
///
/// \f[ \mathrm{GELU}(x) \approx \frac{x}{2}\left(1 + \tanh\left(\sqrt{2/\pi}\,(x + 0.044715\,x^3)\right)\right), \f]
///
/// and a checkpoint trained with one form should be run with that form: the two differ
/// by a few ten-thousandths, as the program shows.
///
/// \show transformer_block.cpp gelu gelu_exact (exercise 5.2)
void show_gelu() {
    attn::section(std::cout, "GELU");
    const Matrix x = {{-3, -2, -1, -0.5f, 0, 0.5f, 1, 2, 3}};
    std::cout << "  x            ";
    for (float v : x) std::cout << std::setw(8) << v;
    std::cout << "\n  ReLU         ";
    for (float v : x)
        std::cout << std::setw(8) << std::fixed << std::setprecision(4) << std::max(v, 0.0f);
    std::cout << "\n  GELU (tanh)  ";
    for (float v : attn::gelu(x)) std::cout << std::setw(8) << v;
    std::cout << "\n  GELU (erf)   ";
    for (float v : attn::gelu_exact(x)) std::cout << std::setw(8) << v;
    std::cout << std::defaultfloat << '\n';
    Matrix grid = xt::zeros<float>({1, 1201});
    for (std::size_t i = 0; i < 1201; ++i) grid(0, i) = -6.0f + 0.01f * static_cast<float>(i);
    std::cout << "\nmax |tanh form - erf form| on [-6, 6]: " << std::setprecision(2)
              << xt::amax(xt::abs(attn::gelu(grid) - attn::gelu_exact(grid)))() << std::defaultfloat
              << '\n';

    attn::Rng rng(5);
    const Matrix a = attn::random_normal(4, 8, rng), w1 = attn::random_normal(8, 16, rng),
                 w2 = attn::random_normal(16, 8, rng);
    const Matrix two_layers = xt::linalg::dot(Matrix(xt::linalg::dot(a, w1)), w2);
    const Matrix one_layer = xt::linalg::dot(a, Matrix(xt::linalg::dot(w1, w2)));
    const Matrix with_gelu = xt::linalg::dot(attn::gelu(xt::linalg::dot(a, w1)), w2);
    std::cout << "(x W1) W2 against x (W1 W2): max difference " << std::setprecision(2)
              << xt::amax(xt::abs(two_layers - one_layer))()
              << "\nGELU(x W1) W2 against x (W1 W2): max difference "
              << xt::amax(xt::abs(with_gelu - one_layer))() << std::defaultfloat << '\n';
}

/// ## The feed-forward network
///
/// attn::feed_forward() is two linear layers with GELU between, applied to every token
/// on its own: \f$\mathrm{GELU}(x W_1 + b_1) W_2 + b_2\f$, `[T, d_model]` to
/// `[T, d_ff]` and back, with \f$d_{ff} = 4 d_{model}\f$ in GPT-2. It holds two thirds of
/// a block's parameters. Where attention decides which tokens to read from, the
/// feed-forward network decides what to compute from what was read; the columns of
/// \f$W_1\f$ `[d_model, d_ff]` act like keys, each matched against the token, and the rows
/// of \f$W_2\f$ `[d_ff, d_model]` like the values they hand over, a memory of \f$d_{ff}\f$
/// entries (Geva et al. 2021).
///
/// \show transformer_block.cpp feed_forward
void show_feed_forward() {
    attn::section(std::cout, "The feed-forward network");
    attn::Rng rng(6);
    const attn::BlockWeights b = attn::gpt2_block(8, 2, 2, 32, 1, rng);
    const Matrix x = attn::random_normal(3, 8, rng);
    const Matrix hidden = xt::linalg::dot(x, b.ffn.w1);
    const Matrix y = attn::feed_forward(x, b.ffn);
    std::cout << "  x          [" << x.shape(0) << ", " << x.shape(1) << "]   [T, d_model]\n"
              << "  x W1 + b1  [" << hidden.shape(0) << ", " << hidden.shape(1) << "]  [T, d_ff]\n"
              << "  FFN(x)     [" << y.shape(0) << ", " << y.shape(1) << "]   [T, d_model]\n";
    Matrix swapped = x;
    xt::row(swapped, 0) = xt::row(x, 2);
    xt::row(swapped, 2) = xt::row(x, 0);
    const Matrix y_swapped = attn::feed_forward(swapped, b.ffn);
    std::cout << "Each token alone: swapping tokens 0 and 2 swaps their outputs, max difference "
              << xt::amax(xt::abs(Vector(xt::row(y_swapped, 0)) - Vector(xt::row(y, 2))))() << '\n';
}

/// ## The block
///
/// attn::transformer_block() puts it together. Each sub-layer reads a normalised copy of
/// the stream and *adds* its result to it: the stream x carries everything forward, and
/// every layer writes a small correction into it. That running sum is the *residual
/// stream*. On a random input of 8 tokens (scale 0.1) with a GPT-2-initialised block (seed 7, 2 heads,
/// \f$d_{ff} = 32\f$), the shapes never change, and the block changes the stream by a
/// small fraction of its size.
///
/// The block is written once, with its attention sub-layer given (attn::AttentionLayer):
/// here and in attn::Gpt::logits() chapter 04's causal layer; chapter 06 gives one that
/// reads and writes its cache, chapter 09 one that runs over a batch of sentences and keeps
/// what the backward pass needs, and the block then keeps its own (attn::BlockActivations).
///
/// \show transformer_block.cpp transformer_block (exercise 5.4)
void show_block() {
    attn::section(std::cout, "The block");
    attn::Rng rng(7);
    const attn::BlockWeights b = attn::gpt2_block(8, 2, 2, 32, 1, rng);
    const Matrix x = attn::random_normal(8, 8, rng, 0.1f);
    const Matrix h = x + attn::multi_head_attention(attn::layer_norm(x, b.ln1_gain, b.ln1_bias),
                                                    b.attention, true)
                             .output;
    const Matrix y = attn::transformer_block(x, b);
    std::cout << "  x                     [8, 8]   rms " << std::setprecision(3) << rms(x) << '\n'
              << "  h = x + MHA(LN1(x))   [8, 8]   rms " << rms(h)
              << ", |h - x| / |x| = " << rms(h - x) / rms(x)
              << "\n  y = h + FFN(LN2(h))   [8, 8]   rms " << rms(y)
              << ", |y - h| / |h| = " << rms(y - h) / rms(h) << std::defaultfloat << '\n';
}

/// ## The residual stream: pre-LN against post-LN
///
/// The original transformer (Vaswani et al. 2017) put the norm *after* the residual:
/// \f$h = \mathrm{LN}(x + \mathrm{MHA}(x))\f$ (attn::post_ln_block()). GPT-2 moved it
/// *before* each sub-layer (pre-LN). The difference shows in the size of the stream. Below,
/// 12 blocks with GPT-2's initialisation (seed 8, `d_model = 64`, 4 heads, T = 16) run on
/// the same input of GPT-2's embedding scale (0.02 per feature), and the program prints
/// the root mean square of the stream after each block.
///
/// With post-LN, every block ends in a layer norm: the stream is reset to size 1 each
/// time, and whatever the input carried is rescaled away at the first block; the path
/// from a block back to the input runs through every norm in between, which made deep
/// post-LN models hard to train without a learning-rate warm-up (Xiong et al. 2020).
/// With pre-LN the stream is never normalised: it starts at the input's size and grows
/// as each block adds to it, and the input reaches the last block untouched, by the sum
/// itself. That is why GPT-2 adds one last layer norm after the final block.
///
/// \show transformer_block.cpp post_ln_block
///
/// \image html ch05_residual_stream.svg "Size of the residual stream after each block"
void show_residual_stream(const std::filesystem::path& figures) {
    attn::section(std::cout, "The residual stream: pre-LN against post-LN");
    attn::Rng rng(8);
    std::vector<attn::BlockWeights> blocks;
    for (int l = 0; l < 12; ++l) blocks.push_back(attn::gpt2_block(64, 4, 4, 256, 12, rng));
    const Matrix input = attn::random_normal(16, 64, rng, 0.02f);
    std::vector<double> depth{0}, pre{rms(input)}, post{rms(input)};
    Matrix x_pre = input, x_post = input;
    std::cout << "  after block   pre-LN rms   post-LN rms\n"
              << "            0" << std::setw(13) << std::setprecision(4) << pre.back()
              << std::setw(14) << post.back() << '\n';
    for (std::size_t l = 0; l < blocks.size(); ++l) {
        x_pre = attn::transformer_block(x_pre, blocks[l]);
        x_post = attn::post_ln_block(x_post, blocks[l]);
        depth.push_back(static_cast<double>(l + 1));
        pre.push_back(rms(x_pre));
        post.push_back(rms(x_post));
        std::cout << std::setw(13) << l + 1 << std::setw(13) << pre.back() << std::setw(14)
                  << post.back() << '\n';
    }
    std::cout << std::defaultfloat;
    attn::write_svg_line_plot(figures / "ch05_residual_stream.svg", depth,
                              {{"pre-LN (GPT-2)", pre}, {"post-LN (2017)", post}},
                              "Chapter 05: size of the residual stream, 12 blocks", "after block",
                              "rms of the stream (log scale)", true);
    std::cout << "\nFigure written to " << (figures / "ch05_residual_stream.svg").string() << '\n';
}

/// ## Llama's variants: RMSNorm and SwiGLU
///
/// Llama keeps the pre-LN block and changes its two pieces. *RMSNorm* (Zhang and Sennrich
/// 2019) skips the mean and the bias and divides by the root mean square:
///
/// \f[ \mathrm{RMSNorm}(x) = \gamma \odot \frac{x}{\sqrt{\frac{1}{d}\sum_i x_i^2 + \epsilon}} \f]
///
/// It is cheaper and works as well; on a vector with a mean far from 0 it gives a
/// different answer than layer norm, because it keeps the mean. The *SwiGLU*
/// feed-forward network (Shazeer 2020) has three matrices and no biases: one branch,
/// through SiLU, gates the other element by element,
///
/// \f[ \mathrm{FFN}_{SwiGLU}(x) = \left(\mathrm{SiLU}(x W_{gate}) \odot x W_{up}\right) W_{down}, \qquad
///     \mathrm{SiLU}(z) = \frac{z}{1 + e^{-z}} \f]
///
/// To keep the parameter count of a GELU network of width \f$4 d_{model}\f$, Llama
/// makes \f$d_{ff}\f$ about \f$\frac{8}{3} d_{model}\f$. Chapter 08 runs both in a real
/// model.
///
/// \show transformer_block.cpp rms_norm
///
/// \show transformer_block.cpp swiglu
void show_llama_variants() {
    attn::section(std::cout, "Llama's variants: RMSNorm and SwiGLU");
    const Matrix x{{3, 4, 5, 6, 2, 4, 3, 5}};
    const Vector ones = xt::ones<float>({8});
    std::cout << "x         " << attn::format_vector(xt::row(x, 0), 2) << "\nLayerNorm "
              << attn::format_vector(xt::row(attn::layer_norm(x, ones, xt::zeros<float>({8})), 0),
                                     2)
              << "\nRMSNorm   " << attn::format_vector(xt::row(attn::rms_norm(x, ones), 0), 2)
              << '\n';
    attn::Rng rng(9);
    const attn::SwiGLUWeights f{attn::random_normal(8, 21, rng, 0.3f),
                                attn::random_normal(8, 21, rng, 0.3f),
                                attn::random_normal(21, 8, rng, 0.3f)};
    const Matrix y = attn::swiglu(x, f);
    std::cout << "\nSwiGLU, d_model = 8, d_ff = 21 (about 8/3 d_model): "
              << f.w_gate.size() + f.w_up.size() + f.w_down.size() << " parameters, output ["
              << y.shape(0) << ", " << y.shape(1)
              << "]\nGELU network, d_ff = 32 (4 d_model):                "
              << 8 * 32 + 32 + 32 * 8 + 8 << " parameters\n";
}

/// ## Counting parameters
///
/// attn::count_parameters() counts a configuration part by part. For GPT-2 small (12
/// layers, `d_model = 768`, 12 heads, a vocabulary of 50257, a context of 1024, biases in
/// attention and feed-forward, and the output layer tied to the token embedding, so it
/// costs nothing extra), it finds the 124,439,808 of the released checkpoint. A third of
/// them are the token embedding; each block holds \f$12\, d_{model}^2\f$ plus biases,
/// four in attention and eight in the feed-forward network.
///
/// \show gpt.cpp count_parameters
void show_parameter_count() {
    attn::section(std::cout, "Counting parameters");
    const attn::GptConfig c = attn::gpt2_small();
    for (const attn::ParameterPart& p : attn::count_parameters(c))
        std::cout << "  " << std::left << std::setw(44) << p.name << std::right << std::setw(12)
                  << p.count << '\n';
    std::cout << "  " << std::left << std::setw(44) << "total" << std::right << std::setw(12)
              << attn::total_parameters(c) << '\n';
}

/// ## From a block to a model
///
/// A GPT is a stack of blocks between an input and an output. The input of position t is
/// the embedding of its token plus a learned embedding of the position t itself: chapter
/// 02 showed that attention alone cannot see order. After the last block, a final layer
/// norm, and the logits of the next token are the dot products of the result with every
/// token's embedding (the *tied* output layer): \f$\mathrm{logits} = h\, E^\top\f$.
///
/// \show gpt.cpp Gpt::embed Gpt::output_logits Gpt::logits
///
/// Generation appends one token at a time: the most likely one (greedy decoding), or one
/// drawn from the softmax of the logits divided by a temperature.
///
/// \show gpt.cpp greedy_token sample_token generate
///
/// attn::Gpt is that model, with its configuration in one struct (attn::GptConfig), its
/// weights set by attn::gpt2_init() or by hand. Here a character-level GPT (28 characters,
/// context 64, 2 layers, 4 heads, `d_model = 32`, seed 10) generates 40 characters after
/// the prompt "the dog ", greedily and by sampling at temperature 1. Untrained, its
/// logits are nearly equal, so sampling gives noise and greedy decoding soon repeats one
/// character; training (chapter 09) is what gives the logits meaning. Every step runs the whole sequence through the model again: chapter 06 makes
/// that fast.
void show_model() {
    attn::section(std::cout, "From a block to a model");
    const attn::CharTokenizer chars("abcdefghijklmnopqrstuvwxyz .");
    const attn::GptConfig c{chars.vocab_size(), 64, 32, 2, 4, 4, 128, true};
    attn::Rng rng(10);
    const attn::Gpt model(c, attn::gpt2_init(c, rng));
    const std::vector<std::size_t> prompt = chars.encode("the dog ");
    const Matrix logits = model.logits(prompt);
    std::cout << "parameters: " << attn::total_parameters(c) << "\nlogits of \"the dog \": ["
              << logits.shape(0) << ", " << logits.shape(1) << "]   [T, vocab_size]\n";
    const Vector next = attn::softmax(xt::row(logits, logits.shape(0) - 1));
    std::vector<std::size_t> order(next.size());
    std::iota(order.begin(), order.end(), 0);
    std::partial_sort(order.begin(), order.begin() + 3, order.end(),
                      [&](std::size_t a, std::size_t b) { return next(a) > next(b); });
    std::cout << "most likely next characters:";
    for (std::size_t i = 0; i < 3; ++i)
        std::cout << " '" << chars.decode({order[i]}) << "' " << std::setprecision(3)
                  << next(order[i]);
    std::cout << " (uniform would be " << 1.0 / static_cast<double>(c.vocab_size) << ")\n";
    // The untrained model may repeat a space: shown as '_' so that it can be seen.
    std::string greedy = chars.decode(attn::generate(model, prompt, 40, 0.0f, rng));
    std::replace(greedy.begin() + static_cast<long>(prompt.size()), greedy.end(), ' ', '_');
    std::cout << "greedy:         \"" << greedy << "\"   (_ is a space)\n";
    std::cout << "temperature 1:  \"" << chars.decode(attn::generate(model, prompt, 40, 1.0f, rng))
              << "\"\n"
              << std::defaultfloat;
}

/// ## The program
///
/// The entry point runs the sections above in order; attn::run_chapter() reads the
/// options (`--figures DIR`, `--help`) and reports errors.
constexpr const char* description =
    "Builds the transformer block piece by piece (layer norm, GELU, feed-forward network,\n"
    "residual stream), counts GPT-2's parameters and generates text with a small GPT.";

int main(int argc, char** argv) {
    return attn::run_chapter(argc, argv, description, [](const std::filesystem::path& figures) {
        show_layer_norm();
        show_gelu();
        show_feed_forward();
        show_block();
        show_residual_stream(figures);
        show_llama_variants();
        show_parameter_count();
        show_model();
    });
}

/// ## What comes next
///
/// The generator above recomputes the keys and values of every earlier token at every
/// step, though they never change. Chapter 06 keeps them in a cache, computes only the new
/// token's, and measures what that saves.
