/// # Chapter 08: A real model
///
/// Seven chapters built every piece of a decoder: attention (01, 02), the causal mask
/// (03), heads and grouped-query attention (04), the block with RMSNorm and SwiGLU (05),
/// the KV cache (06), and chapter 07's lesson that reading memory, not arithmetic, sets the
/// speed. This chapter puts them together the way Meta's Llama does, reads a trained model from disk and writes text with it. The
/// models are the TinyStories models of the llama2.c project (15M, 42M and 110M
/// parameters, trained on short children's stories), in llama2.c's checkpoint format and
/// with its tokenizer. Llama needs one piece no earlier chapter has: *rotary position
/// embeddings*.
///
/// The pieces live in llama.hpp (the model), checkpoint.hpp (the file format) and
/// tokenizer.hpp (text to tokens and back). Run without options, the program writes a
/// small checkpoint of its own, with seeded random weights, and walks through it, so it
/// always runs; given `--checkpoint`, it runs that model instead.
#include "chapters/08_real_model/checkpoint.hpp"
#include "chapters/08_real_model/tokenizer.hpp"

#include "common/blas_threads.hpp"
#include "common/chapter_program.hpp"
#include "common/matmul.hpp"
#include "common/plot.hpp"
#include "common/print.hpp"
#include "common/quote.hpp"
#include "common/random.hpp"

#include <xtensor/xview.hpp>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iomanip>
#include <iostream>
#include <iterator>
#include <sstream>
#include <string>
#include <vector>

using attn::Matrix;
using attn::Vector;

/// ## From GPT-2 to Llama
///
/// A Llama block has the shape of chapter 05's pre-LN block, \f$h = x +
/// \mathrm{Attn}(\mathrm{Norm}(x))\f$ then \f$y = h + \mathrm{FFN}(\mathrm{Norm}(h))\f$,
/// with four of its parts exchanged:
///
/// | part | GPT-2 (chapter 05) | Llama |
/// |---|---|---|
/// | norm | layer norm, gain and bias | RMSNorm, gain only (chapter 05) |
/// | feed-forward | GELU, two matrices with biases | SwiGLU, three matrices (chapter 05) |
/// | attention | one K/V head per query head, biases | no biases; one K/V head per query head in Llama 1 and Llama 2 7B and 13B, grouped-query attention (chapter 04) in Llama 2 70B and Llama 3 |
/// | positions | a learned vector added to each token | RoPE: queries and keys rotated in every block |
///
/// attn::llama_block() is that block, the only Llama block the book has: chapter 09
/// trains with it too, asking it to keep what it computes on the way (`keep`, for the
/// backward pass). It runs the rows of a step: a whole prompt, one new token, or (chapter 10) one new token of each of
/// many sequences. Each row's queries and keys are rotated for its own position (the next
/// section); its keys and values go through attn::LlamaKV, a small interface that chapter
/// 06's cache (attn::ContiguousKV, below) and chapter 10's paged cache implement; and each
/// query head (grouped-query: attn::kv_head_for()) attends over its sequence up to its own
/// position, causal without a mask. How the rows meet each weight matrix is attn::project()
/// unless the caller brings a faster kernel:
///
/// \show llama.cpp llama_block
///
/// No bias appears anywhere. Whether the token embedding is also the classifier depends on
/// the model: GPT-2, llama2.c's TinyStories models and the small Llama 3.2 models share it;
/// Llama 1, Llama 2 and Llama 3 8B and 70B keep a separate output matrix; llama2.c's checkpoint header says which (chapter 08's reader
/// handles both). The
/// smallest TinyStories model has these dimensions:
void show_shape() {
    attn::section(std::cout, "From GPT-2 to Llama");
    const attn::LlamaConfig c = attn::stories15m_config();
    std::cout << "stories15M: dim " << c.dim << ", hidden_dim " << c.hidden_dim << ", "
              << c.n_layers << " layers, " << c.n_heads << " heads of " << c.dim / c.n_heads << ", "
              << c.n_kv_heads << " key/value heads,\n  vocabulary " << c.vocab_size << ", seq_len "
              << c.seq_len << '\n'
              << "parameters: " << attn::llama_parameters(c) << " (" << c.vocab_size * c.dim
              << " of them in the token embedding)\n"
              << "bytes of weights read per generated token: " << attn::weight_bytes_per_token(c)
              << " (float32), "
              << attn::quote("stories15m_weight_mb", attn::weight_bytes_per_token(c) / 1e6, 1)
              << " MB,\n  about "
              << attn::quote("stories15m_million_macs",
                             attn::weight_bytes_per_token(c) / sizeof(float) / 1e6, 0)
              << " million multiply-adds, one per weight read\n";
    const std::vector<attn::CheckpointPart> layout = attn::checkpoint_layout(c);
    const attn::CheckpointPart& last = layout.back();
    std::cout << "its llama2.c checkpoint, stories15M.bin: " << last.offset + last.bytes
              << " bytes, "
              << attn::quote("stories15m_file_mb", (last.offset + last.bytes) / 1e6, 1) << " MB\n";
}

/// ## Rotary position embeddings
///
/// Chapter 02 showed that attention cannot see order, and chapter 05 added a learned
/// position vector to each token. RoPE (Su et al. 2021) puts the position into the
/// attention score instead. Split a query or key of width d into d/2 pairs
/// \f$(x_{2i}, x_{2i+1})\f$ and rotate pair i of the vector at position p by the angle
/// \f$p\,\omega_i\f$, with \f$\omega_i = \theta^{-2i/d}\f$ and \f$\theta = 10000\f$:
/// \f[ \begin{pmatrix} x'_{2i} \\ x'_{2i+1} \end{pmatrix} =
///     \begin{pmatrix} \cos p\omega_i & -\sin p\omega_i \\ \sin p\omega_i & \cos p\omega_i
///     \end{pmatrix} \begin{pmatrix} x_{2i} \\ x_{2i+1} \end{pmatrix} \f]
/// Pair 0 turns by one radian per position, the last pair by about \f$10^{-4}\f$: fast
/// and slow hands of a clock. A rotation \f$R_p\f$ keeps lengths, and two rotations of
/// the same plane compose: \f$R_m^\top R_n = R_{n - m}\f$. So the score of a query at
/// position m and a key at position n is
/// \f[ (R_m q)^\top (R_n k) = q^\top R_m^\top R_n k = q^\top R_{n-m}\, k, \f]
/// a function of the distance alone. Nothing is added to the residual stream, and the
/// values are not rotated: only where a token looks depends on positions, not what it
/// takes. attn::rope() rotates one head's vectors, pair by pair, with the tables of cosines
/// and sines computed once for the positions it needs:
///
/// \show llama.cpp rope_tables rope_rotate rope
///
/// Here are the scores of one random query and key placed at several positions:
void show_rope(const std::filesystem::path& figures) {
    attn::section(std::cout, "Rotary position embeddings");
    attn::Rng rng(8);
    const Matrix q = attn::random_normal(1, 64, rng), k = attn::random_normal(1, 64, rng);
    const auto score = [&](std::size_t m, std::size_t n) {
        return xt::sum(attn::rope(q, m) * attn::rope(k, n))() / 8.0f;  // / sqrt(64)
    };
    std::cout << "score of q at m and k at n (d = 64), by distance m - n:\n"
              << "   m - n      n = 0     n = 10    n = 100   n = 1000\n";
    float along_row = 0.0f;  // the largest difference from the row's first score
    for (std::size_t distance : {0, 1, 2, 5, 20}) {
        std::cout << std::setw(8) << distance << std::fixed << std::setprecision(5);
        for (std::size_t n : {0, 10, 100, 1000}) {
            std::cout << std::setw(11) << score(n + distance, n);
            along_row = std::max(along_row, std::abs(score(n + distance, n) - score(distance, 0)));
        }
        std::cout << std::defaultfloat << '\n';
    }
    std::ostringstream difference;
    difference << std::setprecision(1) << along_row;
    std::cout << "largest difference along a row: "
              << attn::quote("rope_row_difference", difference.str()) << '\n';
    std::cout << "length of q: " << std::sqrt(xt::sum(xt::square(q))())
              << ", after rotating to position 500: "
              << std::sqrt(xt::sum(xt::square(attn::rope(q, 500)))()) << '\n';

    // q = k = all ones: the score against the distance, the figure.
    const Matrix ones = xt::ones<float>({std::size_t{1}, std::size_t{64}});
    std::vector<double> distances, scores;
    for (std::size_t m = 0; m <= 255; ++m) {
        distances.push_back(static_cast<double>(m));
        scores.push_back(xt::sum(attn::rope(ones, m) * ones)() / 64.0);
    }
    attn::write_svg_line_plot(figures / "ch08_rope.svg", distances,
                              {{"q = k = (1, ..., 1)", scores}},
                              "RoPE: the score of equal vectors against their distance (d = 64)",
                              "distance m - n", "score / d");
    std::cout << "Figure written to " << (figures / "ch08_rope.svg").string() << '\n';
}

/// Every row of the table is one distance; each column puts the key at another position
/// n and the query at n + distance. Along a row, the scores agree to within
/// {{rope_row_difference}}, float32's rounding (the angles themselves are computed in
/// double); down a column they change.
///
/// \image html ch08_rope.svg "RoPE: the score of equal vectors against their distance"
///
/// For q = k = (1, ..., 1) the score divided by d is the mean of
/// \f$\cos((m - n)\,\omega_i)\f$ over the pairs: 1 at distance 0, and smaller, with
/// ripples, further away.
/// The fast pairs decorrelate at once, the slowest only after thousands of positions,
/// so nearby tokens look alike to attention and far ones less so.

/// ## The checkpoint format
///
/// A llama2.c checkpoint (its "version 0" export) is a header of seven int32 numbers,
/// then every weight as float32, little-endian, with nothing in between: the token
/// embedding, then all layers' attention RMSNorm gains, all W_q, all W_k, all W_v, all W_o,
/// all feed-forward RMSNorm gains, all W1 (SwiGLU's gate), all W2 (down), all W3 (up), the
/// final RMSNorm gain, two RoPE tables (cos and sin, seq_len × d_head/2 each), and the
/// classifier only when vocab_size is negative. Each matrix is stored as PyTorch's
/// `nn.Linear` keeps it, `[out, in]`: row o holds the weights of output o, the transpose of
/// the book's W `[in, out]`.
///
/// The reader does not copy the weights into tensors of its own: like llama2.c, it maps the
/// file into memory (POSIX `mmap`). The operating system then reads each page of the file
/// when it is first touched, and a model costs about its file's size in memory, once. A
/// copy would cost twice that while loading (the bytes read, then the tensors), and a tied
/// model, whose classifier would need its own transposed copy, would hold the embedding a
/// third time. Each matrix is an attn::LinearWeight, a pointer to its place in the file and
/// its stored shape, and the classifier of a tied model *is* the embedding. Multiplying by
/// a weight as stored needs no transpose either: \f$y = x W = x\,(W^{\mathrm{stored}})^\top\f$
/// is one product, PyTorch's `F.linear`: chapter 02's attn::project(), now for a weight whose
/// type says it is stored `[out, in]`, read with common/matmul.hpp's "transposed" flag (a
/// single row goes to attn::matvec(), the decoding kernel of "How fast is it?" below, which
/// reads W as stored, once, row after row):
///
/// \show linear_weight.cpp project
///
/// The header is the only description of the file, so the reader trusts nothing: the
/// sizes must be positive, the heads must divide dim and the key/value heads the heads,
/// and the file must have exactly the size the header implies. Where each array sits
/// follows from the header alone:
///
/// \show checkpoint.cpp checkpoint_layout
///
/// The reader maps the file, checks the header before it trusts any size in it, and makes
/// each weight a view of its place in the mapping:
///
/// \show checkpoint.cpp MappedFile::map read_checkpoint
///
/// The program writes a small model with seeded random weights, lists where each array
/// sits, and reads it back:
attn::Llama show_checkpoint(const std::filesystem::path& dir, const attn::Llama& model) {
    attn::section(std::cout, "The checkpoint format");
    const auto path = dir / "ch08_model.bin";
    attn::write_checkpoint(path, model);
    attn::CheckpointInfo info;
    const attn::Llama back = attn::read_checkpoint(path, &info);
    std::cout << "wrote " << path.filename().string() << ": " << info.file_bytes << " bytes\n"
              << "  array              stored shape        offset       bytes\n";
    for (const attn::CheckpointPart& part : attn::checkpoint_layout(back.config())) {
        std::string shape = "[";
        for (std::size_t i = 0; i < part.shape.size(); ++i)
            shape += (i ? ", " : "") + std::to_string(part.shape[i]);
        shape += "]";
        std::cout << "  " << std::left << std::setw(19) << part.name << std::setw(16) << shape
                  << std::right << std::setw(10) << part.offset << std::setw(12) << part.bytes
                  << '\n';
    }
    const std::vector<std::size_t> tokens{1, 300, 261, 42};
    std::cout << "read back: the same logits: max difference "
              << xt::amax(xt::abs(back.logits(tokens) - model.logits(tokens)))()
              << "\nthe RoPE tables in the file against rope(): max difference "
              << info.rope_table_difference
              << "\nthe classifier is the embedding itself, in the mapped file: "
              << (back.weights().classifier.data() == back.weights().token_embedding.data() ? "yes"
                                                                                            : "no")
              << '\n';

    // What a reader sees for a wrong file: a truncated download and the newer format.
    const auto damaged = [&](const std::string& name, std::size_t keep, std::int32_t first) {
        std::ifstream in(path, std::ios::binary);
        std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
        bytes.resize(keep);
        if (first) std::memcpy(bytes.data(), &first, sizeof first);
        std::ofstream(dir / name, std::ios::binary) << bytes;
        try {
            attn::read_checkpoint(dir / name);
        } catch (const std::invalid_argument& e) {
            std::string what = e.what();
            const std::size_t at = what.find((dir / name).string());
            if (at != std::string::npos) what.replace(at, (dir / name).string().size(), name);
            std::cout << attn::wrap(what) << '\n';
        }
        std::filesystem::remove(dir / name);
    };
    std::cout << "\nA truncated copy and a file in llama2.c's newer format:\n";
    damaged("truncated.bin", info.file_bytes / 2, 0);
    damaged("versioned.bin", info.file_bytes, 0x616b3432);
    return back;
}

/// The layout table is checkpoint_layout(); its last row ends at the file's last byte.
/// The next section generates text with the model as read back from this file.
/// The tests damage the file in every way the reader checks (too short, too long, a zero
/// or negative size, heads that do not divide, an odd head size, sizes whose product
/// overflows, a page of text) and check each message.

/// ## The tokenizer
///
/// The model reads token ids, and llama2.c's `tokenizer.bin` holds what each id means:
/// an int32 max_token_length, then for each of the vocab_size tokens a float32 score, an
/// int32 length and the piece's bytes. Llama 1 and 2's vocabulary (32000 pieces, from
/// sentencepiece) has `<unk>`, `<s>` (the beginning of a text, id 1) and `</s>` (id 2),
/// a token for every byte, `<0x00>` to `<0xFF>`, and pieces of text, many beginning with a
/// space.
///
/// attn::Tokenizer::encode() works as sentencepiece does for Llama. It puts a space in
/// front of the text, so the first word is spelt like every other word. Each UTF-8
/// character becomes its own piece, or, when the vocabulary has no such piece, one byte
/// token per byte (the *byte fallback*: every text can be encoded). Then, again and
/// again, the adjacent pair whose joined piece has the highest score is merged, until
/// no pair joins into a piece of the vocabulary. Decoding is the reverse: join the
/// pieces, turn byte tokens into their bytes, and drop the space encode() added. The
/// program's own vocabulary is small: the 259 special and byte tokens and the 61 pieces
/// listed under "The program" below, scored in that order.
///
/// \show tokenizer.cpp Tokenizer::encode Tokenizer::decode_piece Tokenizer::decode (exercise 8.3)
///
/// Tokens are shown as their pieces, `[piece][piece]`, so that each token's start is
/// visible:
std::string pieces_of(const attn::Tokenizer& tok, const std::vector<std::size_t>& tokens) {
    std::string text, line;
    for (std::size_t t : tokens) {
        const std::string piece = "[" + tok.piece(t) + "]";
        if (line.size() + piece.size() > 76) {
            text += line + "\n  ";
            line.clear();
        }
        line += piece;
    }
    return text + line;
}

void show_tokenizer(const attn::Tokenizer& tok) {
    attn::section(std::cout, "The tokenizer");
    const auto show = [&](const std::vector<std::size_t>& tokens) {
        return pieces_of(tok, tokens);
    };
    std::vector<std::vector<std::size_t>> merges;
    const auto tokens = tok.encode("Once upon a time", true, &merges);
    std::cout << "\"Once upon a time\", merge by merge:\n";
    for (std::size_t i = 0; i < merges.size(); ++i)
        std::cout << std::setw(4) << i + 1 << "  " << show(merges[i]) << '\n';
    std::cout << "ids:";
    for (std::size_t t : tokens) std::cout << ' ' << t;
    std::cout << "\n\nbyte fallback, \"jazz \xF0\x9F\x99\x82\":\n  "
              << show(tok.encode("jazz \xF0\x9F\x99\x82", true)) << '\n'
              << "decoded: \"" << tok.decode(tok.encode("jazz \xF0\x9F\x99\x82", true)) << "\"\n";
    try {
        tok.encode("caf\xE9", true);  // Latin-1, not UTF-8
    } catch (const std::invalid_argument& e) {
        std::cout << attn::wrap(std::string("Latin-1 text: ") + e.what()) << '\n';
    }
}

/// The merges go by score, not from left to right: the best-scoring pair anywhere in
/// the text is merged first. j and z are not in this vocabulary and neither is the
/// emoji, so they become byte tokens, and they decode back to the same UTF-8 text.
/// Text that is not UTF-8 is refused: its bytes would still encode, but decode to
/// something else.

/// ## Generation
///
/// attn::CachedLlama runs the model with chapter 06's cache. Each layer caches its keys
/// *after* rotating them: a key's position never changes, so it is rotated once. A
/// query is rotated for its own position when it arrives. The prompt runs through
/// attn::CachedLlama::forward(): every llama_block() above, its keys and values stored in
/// the cache through attn::ContiguousKV, as chapter 06 feeds chapter 05's block. A new token
/// goes the same way, as a prompt of one: attn::CachedLlama::decode() is forward() with one
/// row. Nothing in the block changes for it; what changes is under it. Every weight matrix,
/// as stored, meets a single row, and attn::project() gives a single row to
/// attn::project_row(), a kernel written for it (attn::matvec(), whose loop is
/// `matvec_rows()`, below): output o is the dot product of row o with the token's vector.
/// In this run it was {{row_kernel_vs_blas}} BLAS's own matrix-vector product on the same
/// weights (timed below). Each head's query meets the cached keys and values in place,
/// attn::attend_one(). The next
/// token is chosen as in chapter 05, greedily, or by sampling with a temperature;
/// llama2.c adds *top-p* (nucleus) sampling (Holtzman et al. 2019), attn::sample_top_p().
/// It sorts the tokens by probability, keeps the most likely ones until their
/// probabilities add up to more than p, and draws among those. The long tail of unlikely
/// tokens, each rare but many together, can then never derail a story.
///
/// \show llama.cpp CachedLlama::prefill CachedLlama::forward CachedLlama::decode
///
/// \show llama.cpp ContiguousKV::store ContiguousKV::attend
///
/// The same interface takes chapter 06's ring buffer: attn::WindowKV keeps each layer's last
/// W positions, and the block becomes a sliding-window Llama, as Mistral 7B attends (W =
/// 4096 there). A query's softmax does not care in which order the ring holds the keys, and
/// each key was rotated for its own position when it was stored, so nothing else changes.
/// The tests check it against attention over the last W rows of the contiguous cache.
///
/// \show llama.cpp WindowKV::store WindowKV::attend
///
/// \show decode_kernels.cpp matvec_rows attend_one
///
/// \show llama.cpp sample_top_p
///
/// The program's model has random weights, so it writes nonsense, but the nonsense is
/// {{cache_same_tokens}} one token at a time with the cache and all at once, as one prompt:
void show_generation(const attn::Llama& model, const attn::Tokenizer& tok) {
    attn::section(std::cout, "Generation");
    const std::vector<std::size_t> prompt = tok.encode("Once upon a time", true);
    attn::Rng rng(1);
    const auto start = std::chrono::steady_clock::now();
    const auto tokens = attn::llama_generate(model, prompt, 40, {}, rng, {});
    const double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    std::cout << "greedy, 40 tokens:\n  " << pieces_of(tok, tokens) << '\n';
    const Matrix full = model.logits(tokens);  // all at once, as one prompt
    std::vector<std::size_t> recomputed(prompt);
    for (std::size_t t = prompt.size() - 1; t + 1 < tokens.size(); ++t)
        recomputed.push_back(attn::greedy_token(xt::row(full, t)));
    std::cout << "the same tokens from one pass over the whole text: "
              << (recomputed == tokens ? "all equal" : "DIFFERENT") << '\n';
    // Rounding differs between one row at a time and all rows at once (one product or
    // another); it changes a greedy token only at a near tie.
    attn::quote("cache_same_tokens", recomputed == tokens
                                         ? "the same"
                                         : "not quite the same (a near tie between two tokens "
                                           "fell the other way)");
    attn::Rng sampling(7);
    const auto sampled = attn::llama_generate(model, prompt, 40, {0.9f, 0.9f}, sampling, {});
    std::cout << "temperature 0.9, top-p 0.9:\n  " << pieces_of(tok, sampled) << '\n'
              << std::fixed << std::setprecision(0) << "speed: " << 40.0 / seconds
              << " tokens per second (dim " << model.config().dim << ", " << model.config().n_layers
              << " layers, one thread)\n"
              << std::defaultfloat;

    // The kernel under the block: a token's products through project_row(), against BLAS's
    // matrix-vector product on the same weights (the general product's one-row path); the
    // medians of 3 runs of 20 tokens' worth each.
    std::vector<const attn::LinearWeight*> weights;
    for (const attn::LlamaLayer& l : model.weights().layers)
        for (const attn::LinearWeight* w :
             {&l.w_q, &l.w_k, &l.w_v, &l.w_o, &l.w_gate, &l.w_up, &l.w_down})
            weights.push_back(w);
    weights.push_back(&model.weights().classifier);
    std::vector<float> x(std::max(model.config().dim, model.config().hidden_dim), 0.5f);
    std::vector<float> y(
        std::max({model.config().dim, model.config().hidden_dim, model.config().vocab_size}));
    std::vector<double> kernel, blas;
    for (int run = 0; run < 3; ++run) {
        const auto t0 = std::chrono::steady_clock::now();
        for (int token = 0; token < 20; ++token)
            for (const attn::LinearWeight* w : weights) attn::project_row(x.data(), *w, y.data());
        const auto t1 = std::chrono::steady_clock::now();
        for (int token = 0; token < 20; ++token)
            for (const attn::LinearWeight* w : weights)
                attn::gemm(1, w->out(), w->in(), 1.0f, x.data(), w->in(), attn::Read::as_stored,
                           w->data(), w->in(), attn::Read::transposed, 0.0f, y.data(), w->out());
        const auto t2 = std::chrono::steady_clock::now();
        kernel.push_back(std::chrono::duration<double>(t1 - t0).count() / 20);
        blas.push_back(std::chrono::duration<double>(t2 - t1).count() / 20);
    }
    std::sort(kernel.begin(), kernel.end());
    std::sort(blas.begin(), blas.end());
    std::ostringstream compared;
    compared << std::fixed << std::setprecision(1);
    if (kernel[1] <= blas[1])
        compared << blas[1] / kernel[1] << " times as fast as";
    else
        compared << kernel[1] / blas[1] << " times slower than";
    std::cout << "a token's products, every weight matrix once (dim " << model.config().dim
              << "):\n"
              << std::fixed << std::setprecision(1)
              << "  through project_row():                 " << kernel[1] * 1e6 << " us\n"
              << "  through BLAS's matrix-vector product:  " << blas[1] * 1e6 << " us\n"
              << "  project_row() was " << attn::quote("row_kernel_vs_blas", compared.str())
              << " BLAS (medians of 3 runs)\n"
              << std::defaultfloat;
}

/// ## Running a TinyStories model
///
/// The trained models are not part of the book; download them once
/// ({{stories15m_file_mb}} MB for the smallest, and the tokenizer, under half a megabyte):
///
///     cd build/chapters/08_real_model
///     curl -LO https://huggingface.co/karpathy/tinyllamas/resolve/main/stories15M.bin
///     curl -LO https://github.com/karpathy/llama2.c/raw/master/tokenizer.bin
///     ./ch08_real_model --checkpoint stories15M.bin --prompt "Once upon a time" --steps 200
///
/// `stories42M.bin` and `stories110M.bin` sit beside the first and run the same way.
/// Without `--tokenizer`, the program looks for `tokenizer.bin` beside the checkpoint. It
/// prints the text as it is generated, then the tokens per second. Greedy decoding is
/// `--temperature 0`; the default is 0.8 with top-p 0.9, and `--seed` repeats a sampled
/// story. Generation stops at `<s>`, which the TinyStories models
/// write between stories.
///
void run_model(const std::vector<attn::ChapterOption>& options) {
    const auto option = [&](const std::string& name) -> const attn::ChapterOption& {
        for (const attn::ChapterOption& o : options)
            if (o.name == name) return o;
        throw std::logic_error("no option " + name);
    };
    const auto number = [&](const std::string& name) {
        const std::string& text = option(name).value;
        std::size_t used = 0;
        double value = 0.0;
        try {
            value = std::stod(text, &used);
        } catch (const std::exception&) {
            used = 0;
        }
        if (used != text.size() || !std::isfinite(value))
            throw std::invalid_argument("--" + name + ": '" + text + "' is not a number");
        return value;
    };
    const std::filesystem::path checkpoint = option("checkpoint").value;
    std::filesystem::path tokenizer = option("tokenizer").value;
    if (!option("tokenizer").given) tokenizer = checkpoint.parent_path() / "tokenizer.bin";
    const double steps = number("steps"), temperature = number("temperature"),
                 top_p = number("top-p"), seed = number("seed");
    const auto refuse = [&](const std::string& name, const std::string& rule) {
        throw std::invalid_argument("--" + name + " must be " + rule + ", got " +
                                    option(name).value);
    };
    if (steps < 1 || steps != std::floor(steps)) refuse("steps", "a whole number of at least 1");
    // Below 0.01 sampling is greedy in all but name; above 100 it picks almost at random.
    if (temperature != 0 && !(temperature >= 0.01 && temperature <= 100))
        refuse("temperature", "0 (greedy) or from 0.01 to 100");
    // Exercise 8.4's range: at 0, llama2.c samples from every token and 8.4's rule keeps one.
    if (!(top_p > 0 && top_p <= 1))
        refuse("top-p", "above 0 and at most 1 (1 samples from every token)");
    if (seed < 0 || seed != std::floor(seed) || seed >= 9007199254740992.0)
        refuse("seed", "a whole number from 0 to 2^53");

    attn::CheckpointInfo info;
    const attn::Llama model = attn::read_checkpoint(checkpoint, &info);
    const attn::LlamaConfig& c = model.config();
    if (!option("tokenizer").given && !std::filesystem::exists(tokenizer)) {
        throw std::invalid_argument("no --tokenizer given, and no tokenizer.bin beside " +
                                    checkpoint.string() + "; download it (see --help)");
    }
    const attn::Tokenizer tok = attn::Tokenizer::read(tokenizer, c.vocab_size);
    std::cerr << checkpoint.string() << ": dim " << c.dim << ", hidden_dim " << c.hidden_dim << ", "
              << c.n_layers << " layers, " << c.n_heads << " heads, " << c.n_kv_heads
              << " key/value heads, vocabulary " << c.vocab_size << ", seq_len " << c.seq_len
              << ", " << attn::llama_parameters(c) << " parameters\n";
    if (info.rope_table_difference > 1e-3f) {
        std::cerr << "note: the file's RoPE tables differ from theta = 10000's by up to "
                  << info.rope_table_difference << "; this program uses theta = 10000\n";
    }
    const std::vector<std::size_t> prompt = tok.encode(option("prompt").value, true);
    if (prompt.size() >= c.seq_len) {
        throw std::invalid_argument("the prompt is " + std::to_string(prompt.size()) +
                                    " tokens long; the model reads at most seq_len = " +
                                    std::to_string(c.seq_len) + ", and needs room to continue");
    }
    // More steps than the context holds are as many as it holds (and never overflow a size_t).
    const auto want = static_cast<std::size_t>(std::min(steps, static_cast<double>(c.seq_len)));
    if (prompt.size() + want > c.seq_len) {
        std::cerr << "note: " << want << " steps after " << prompt.size()
                  << " prompt tokens pass seq_len = " << c.seq_len << "; stopping there\n";
    }
    std::cout << tok.decode(prompt) << std::flush;
    attn::Rng rng(static_cast<std::uint64_t>(seed));
    std::size_t previous = prompt.back(), made = 0;
    const auto start = std::chrono::steady_clock::now();
    attn::llama_generate(model, prompt, want,
                         {static_cast<float>(temperature), static_cast<float>(top_p)}, rng,
                         [&](std::size_t t) {
                             if (t == attn::Tokenizer::bos) return false;  // the end of a story
                             std::cout << tok.decode_piece(previous, t) << std::flush;
                             previous = t;
                             ++made;
                             return true;
                         });
    const double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    std::cout << '\n';
    std::cerr << made << " tokens in " << std::fixed << std::setprecision(2) << seconds
              << " s: " << std::setprecision(1) << static_cast<double>(made) / seconds
              << " tokens per second (one thread)\n";
}

/// How fast is it? A token reads every weight once, {{stories15m_weight_mb}} MB for
/// stories15M, and does only about {{stories15m_million_macs}} million multiply-adds, one
/// per weight it reads, so the speed of memory sets the limit, not arithmetic (chapter 07's
/// arithmetic intensity). attn::matvec() is written for that: it reads every number of a
/// matrix once, row after row, as one stream from the matrix's first number to its last.
/// The program times 255 greedy tokens after `<s>` on a model of stories15M's dimensions
/// with seeded random weights (the work per token does not depend on what the weights
/// are): in this run, {{stories15m_tokens_per_second}} tokens per second on one thread,
/// reading the weights at {{stories15m_weights_gbs}} GB/s. `make bench` measures the same
/// next to the memcpy bandwidth of its run, and the peak resident memory of loading the
/// model from its file and generating, against the file's size;
/// `ATTN_BENCH_CHECKPOINT=FILE` keeps its checkpoint, so that another program, such as
/// llama2.c's `run.c`, can be timed on the same weights.
void show_speed() {
    attn::section(std::cout, "Running a TinyStories model");
    const attn::LlamaConfig c = attn::stories15m_config();
    attn::Rng rng(15);
    const attn::Llama model(c, attn::llama_random(c, rng));
    const std::size_t steps = c.seq_len - 1;  // the last token at the last position
    std::vector<double> rates;
    for (int run = 0; run < 3; ++run) {
        attn::Rng unused(1);  // greedy: no random numbers drawn
        const auto start = std::chrono::steady_clock::now();
        attn::llama_generate(model, {attn::Tokenizer::bos}, steps, {}, unused, {});
        rates.push_back(
            static_cast<double>(steps) /
            std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
    }
    std::sort(rates.begin(), rates.end());
    std::cout << "stories15M's dimensions, seeded random weights, " << steps
              << " greedy tokens after <s>:\n  "
              << attn::quote("stories15m_tokens_per_second", rates[1], 0)
              << " tokens per second (one thread, the median of 3 runs),\n  reading the weights at "
              << attn::quote("stories15m_weights_gbs",
                             rates[1] * static_cast<double>(attn::weight_bytes_per_token(c)) / 1e9,
                             1)
              << " GB/s\n";
}

/// ## The program
///
/// The entry point reads the options. Without `--checkpoint` it runs the sections
/// above on the program's own small model, which it writes next to the figures; with
/// one, it runs that model. attn::run_chapter() reports errors: a wrong file ends the
/// program with the reader's message and exit status 1.
constexpr const char* description =
    "Llama put together from the book's pieces: RoPE, the checkpoint and tokenizer formats\n"
    "of llama2.c, and generation. Without --checkpoint, a walk-through on a small model the\n"
    "program writes itself; with it, that model writes text from --prompt. TinyStories\n"
    "models: https://huggingface.co/karpathy/tinyllamas (stories15M.bin and others) and\n"
    "https://github.com/karpathy/llama2.c/raw/master/tokenizer.bin";

// The program's own vocabulary (after the 259 special and byte tokens), best merges first.
const std::vector<std::string> pieces = {
    " Once", " t",  "he",    " the", "in",  " a", "ing",  "er", "an", "nd",  " and", "on",    "ce",
    " w",    "as",  " s",    "at",   "nce", "On", "Once", " u", "up", " up", "upon", " upon", "ti",
    "me",    " ti", " time", "ll",   "re",  " ",  "e",    "t",  "a",  "o",   "n",    "i",     "h",
    "s",     "r",   "d",     "l",    "u",   "w",  "y",    "g",  "c",  "m",   "p",    "b",     "f",
    "k",     "v",   ".",     ",",    "!",   "T",  "O",    "'",  "?"};

int main(int argc, char** argv) {
    std::vector<attn::ChapterOption> options = {
        {"checkpoint", "FILE", "a llama2.c checkpoint (version 0), e.g. stories15M.bin", "", false},
        {"tokenizer", "FILE", "its tokenizer.bin", "tokenizer.bin beside the checkpoint", false},
        {"prompt", "TEXT", "the beginning of the text", "Once upon a time", false},
        {"steps", "N", "tokens to generate, at most", "256", false},
        {"temperature", "T", "0 is greedy, else from 0.01 to 100", "0.8", false},
        {"top-p", "P", "nucleus sampling, above 0 and at most 1; 1 samples everything", "0.9",
         false},
        {"seed", "S", "the random numbers of sampling", "42", false}};
    return attn::run_chapter(
        argc, argv, description, options, [&](const std::filesystem::path& figures) {
            attn::use_one_blas_thread();  // the speeds it prints are for one thread
            const bool walk_through = !options[0].given;
            for (std::size_t i = 1; i < options.size() && walk_through; ++i) {
                if (options[i].given)
                    throw std::invalid_argument("--" + options[i].name +
                                                " needs --checkpoint FILE");
            }
            if (!walk_through) return run_model(options);
            const attn::Tokenizer tok = attn::small_tokenizer(pieces);
            attn::LlamaConfig c{.dim = 64,
                                .hidden_dim = 172,
                                .n_layers = 4,
                                .n_heads = 4,
                                .n_kv_heads = 2,
                                .vocab_size = tok.vocab_size(),
                                .seq_len = 128};
            attn::Rng rng(8);
            const attn::Llama model(c, attn::llama_random(c, rng));
            show_shape();
            show_rope(figures);
            const attn::Llama back = show_checkpoint(figures, model);
            show_tokenizer(tok);
            show_generation(back, tok);
            show_speed();
            tok.write(figures / "ch08_tokenizer.bin");
            std::cout
                << "\nThe program's model and tokenizer are ch08_model.bin and ch08_tokenizer.bin "
                   "in\n  "
                << figures.string() << "\nA trained model: download\n"
                << "  https://huggingface.co/karpathy/tinyllamas/resolve/main/stories15M.bin\n"
                << "  https://github.com/karpathy/llama2.c/raw/master/tokenizer.bin\n"
                << "and run ch08_real_model --checkpoint stories15M.bin --tokenizer "
                   "tokenizer.bin\n\n";
        });
}

/// ## What comes next
///
/// A trained language model now runs on code you have written line by line. Chapter 09
/// trains this architecture from zero, with its backward pass written piece by piece;
/// chapter 10 serves it to many readers at once, chapter 11 across processes. The exercises of this chapter rebuild its new pieces: RoPE, the Llama block,
/// the tokenizer's merges and top-p sampling. From here, the larger TinyStories models
/// run unchanged, and so does any Llama-2-architecture model exported in llama2.c's
/// format, at the speed your memory allows.
