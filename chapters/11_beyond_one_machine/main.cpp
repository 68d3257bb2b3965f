/// # Chapter 11: Beyond one machine
///
/// Chapter 10 watched a server's memory fill with keys and values. The next wall is the
/// machine itself. Llama-3-70B holds {{weights_gb_70b}} GB of weights in 16 bits, and one
/// sequence of 128k tokens adds {{kv_gb_70b}} GB of keys and values (2 x 80 layers x 8
/// key/value heads x 128 numbers x {{= 2 bytes}} x 131072 positions, computed by the program).
/// No single accelerator holds both, so real systems split the work across processes, and
/// all three of the ways this chapter builds rest on ideas the book already has: heads are
/// independent (chapter 04), and softmax states merge (chapter 07's merge_states()).
///
/// The first is tensor parallelism (Shoeybi et al. 2019, Megatron-LM): every block's heads
/// and feed-forward features are dealt to the processes, and two sums a block put the parts
/// together. The second splits the KV cache by position (split-KV decoding, as
/// flash-decoding splits one sequence over a GPU's thread blocks): each process keeps every
/// P-th position, and the partial softmax states of a query merge across the processes. The
/// third is ring attention (Liu et al. 2023): each process holds a chunk of a long prompt,
/// and the keys and values travel round a ring, merged as they arrive.
///
/// The processes are real, not simulated: the program uses MPI (Open MPI, installed by
/// `make` with the other Debian packages), and this page was made by running it with
/// `mpiexec -n 4`. Run plainly, it is one process (P = 1) and every scheme still runs. To
/// run it as the book does:
///
///     mpiexec -n 4 build/chapters/11_beyond_one_machine/ch11_beyond_one_machine
///
/// Two flags are for machines like the book's: `--oversubscribe` lets mpiexec start more
/// processes than the machine has cores (the book's build machine has {{cores}}), and
/// `--allow-run-as-root` lets it run as root, as in a container. On a cluster, a hostfile
/// lists the machines (`mpiexec --hostfile hosts -n 64 ...`) and the same program runs
/// across them unchanged: ranks on one machine talk through shared memory, ranks on two
/// through the network.
///
/// The pieces live in partition.hpp (who owns what, the ring's schedule, the byte counts:
/// all without communication, and the exercises), ranks.hpp (the processes and the
/// collectives) and distributed_llama.hpp (the three schemes).
#include "chapters/05_transformer_block/gpt.hpp"
#include "chapters/07_fast_attention/fast_attention.hpp"
#include "chapters/08_real_model/llama.hpp"
#include "chapters/11_beyond_one_machine/distributed_llama.hpp"
#include "chapters/11_beyond_one_machine/partition.hpp"
#include "chapters/11_beyond_one_machine/ranks.hpp"

#include "common/blas_threads.hpp"
#include "common/chapter_program.hpp"
#include "common/plot.hpp"
#include "common/print.hpp"
#include "common/quote.hpp"
#include "common/random.hpp"

#include <xtensor/xview.hpp>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdlib>
#include <iomanip>
#include <iostream>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

using attn::Matrix;
using attn::Vector;

/// ## The processes
///
/// An MPI program is started as P copies, each a *rank* 0 .. P - 1 that knows P. Each
/// runs the same code on its own memory; they share nothing but the messages they send.
/// attn::Ranks wraps the few operations this chapter needs, and keeps a tally for the cost
/// model at the end: each collective it runs adds the messages and bytes its algorithm sends
/// (a ring all-reduce's, below), so the tally counts the collectives the program really
/// runs, priced by the algorithm, not the bytes the MPI library puts on the wire. The first
/// operation is the *all-reduce*: every rank contributes an array, and every rank gets the
/// sum:
///
/// \show ranks.cpp Ranks::sum
///
/// Before anything else, the ranks check that they agree: each hashes its model's
/// configuration, token embedding and every layer's W_q, and the `--quick` setting, rank 0
/// broadcasts its hash, and a rank whose hash differs stops, naming
/// itself. Ranks that silently ran different models would send each other numbers that
/// mean nothing, and the answer would be wrong without any error.
///
/// \show ranks.cpp Ranks::check_same
namespace {

// What the command line asked for, the same on every rank.
struct Settings {
    bool quick = false;   // fewer tokens and a shorter prompt (the tests)
    long fail_rank = -1;  // this rank throws in the middle of decoding
    long seed_rank = -1;  // this rank builds its model from another seed
};

// The greedy tokens after `prompt`, `steps` of them, from a forward function that runs
// tokens at the next positions and returns the last one's logits; and every step's logits.
template <class Forward>
std::vector<std::size_t> greedy(Forward&& forward, const std::vector<std::size_t>& prompt,
                                std::size_t steps, std::vector<Vector>& logits) {
    std::vector<std::size_t> tokens;
    Vector last = forward(prompt);
    for (std::size_t s = 0; s < steps; ++s) {
        logits.push_back(last);
        tokens.push_back(attn::greedy_token(last));
        last = forward(std::vector<std::size_t>{tokens.back()});
    }
    return tokens;
}

// Two counts of the same bytes, one summed call by call: equal but for rounding.
bool same_count(double counted, double model) {
    return std::abs(counted - model) <= 1e-9 * std::max(1.0, std::abs(model));
}

double max_difference(const std::vector<Vector>& a, const std::vector<Vector>& b) {
    double worst = 0.0;
    for (std::size_t i = 0; i < std::min(a.size(), b.size()); ++i)
        worst = std::max(worst, static_cast<double>(xt::amax(xt::abs(a[i] - b[i]))()));
    return worst;
}

// A difference of rounding, in the form that shows its size: 3.1e-07.
std::string small(double x) {
    std::ostringstream s;
    s << std::scientific << std::setprecision(1) << x;
    return s.str();
}

// "heads 2-3", or "head 2" for one.
std::string span(const char* what, std::size_t first, std::size_t count) {
    return count == 1 ? std::string(what) + " " + std::to_string(first)
                      : std::string(what) + "s " + std::to_string(first) + "-" +
                            std::to_string(first + count - 1);
}

std::string gb(double bytes) {
    std::ostringstream s;
    s << std::fixed << std::setprecision(1) << bytes / 1e9;
    return s.str();
}

}  // namespace

void show_processes(attn::Ranks& ranks, const attn::Llama& model, const Settings& settings) {
    attn::section(std::cout, "The processes");
    const attn::LlamaConfig& c = model.config();
    // The configuration's numbers one by one (the struct's padding bytes are not numbers).
    const double shape[] = {double(c.dim),     double(c.hidden_dim), double(c.n_layers),
                            double(c.n_heads), double(c.n_kv_heads), double(c.vocab_size),
                            double(c.seq_len), double(c.rope_theta), double(c.norm_eps)};
    std::uint64_t hash = attn::fnv1a(shape, sizeof shape);
    hash = attn::fnv1a(model.weights().token_embedding.data(), c.vocab_size * c.dim * sizeof(float),
                       hash);
    for (const attn::LlamaLayer& l : model.weights().layers)
        hash = attn::fnv1a(l.w_q.data(), l.w_q.out() * l.w_q.in() * sizeof(float), hash);
    hash = attn::fnv1a(&settings.quick, sizeof settings.quick, hash);
    ranks.check_same(hash, "the model and settings (hash " + std::to_string(hash) + ")");
    std::cout << "P = " << attn::quote("ranks", std::to_string(ranks.size()))
              << (ranks.size() == 1
                      ? " process (rank 0), "
                      : " processes (ranks 0 to " + std::to_string(ranks.size() - 1) + "), ")
              << std::thread::hardware_concurrency() << " cores on this machine\n"
              << "every rank runs the same model and settings: hash " << std::hex << hash
              << std::dec << " on all\n";
    if (ranks.size() > std::thread::hardware_concurrency()) {
        std::cout << "more ranks than cores: they take turns on the cores, so the times below "
                     "say little\nabout speed (they are printed, and labelled, all the same)\n";
    }
}

/// ## Tensor parallelism: who owns what
///
/// A block is attention, whose heads are independent until W_o mixes them, and a
/// feed-forward network, whose features are independent until W_down mixes them. Megatron-LM
/// splits each at that seam. Rank r keeps the rows of W_q that make its query heads and the
/// rows of W_k and W_v that make their key/value heads (a *column-parallel* layer, in the
/// book's `[in, out]` view), and the matching columns of W_o (stored `[out, in]`; its
/// *rows* in the book's view: a *row-parallel* layer). Then its heads' output times its
/// slice of W_o is a part of the block's output, and the parts of all ranks sum to the
/// whole: one all-reduce. The feed-forward network splits the same way, W_gate's and W_up's
/// rows of its features with W_down's columns of them: a second all-reduce. Everything else
/// (the embedding, the norms, the classifier) every rank keeps whole.
///
/// Grouped-query heads add a condition. Query head h reads key/value head
/// h / (n_heads / n_kv_heads), so with contiguous blocks rank r's query heads read exactly
/// its own key/value heads when P divides n_kv_heads. When it does not (8 key/value heads
/// over 16 ranks, say), a key/value head would have to be copied to every rank whose query
/// heads read it: more memory, and a KV cache no longer split by P. attn::head_share()
/// refuses that case with a message rather than copy silently:
///
/// \show partition.cpp head_share shard_layer
///
/// The block itself is chapter 08's attn::llama_block(), through one of its parameters:
/// what becomes of each sub-layer's output before the residual add (for one process:
/// nothing).
/// A rank runs it on its shard as if the shard were a model with n_heads / P heads; the
/// head size comes from W_q's rows, not from dim / n_heads:
///
/// \show chapters/08_real_model/llama.cpp llama_block
///
/// The program prints each rank's share of this run's model, what stays replicated, and
/// the bytes each rank keeps.
void show_ownership(const attn::Llama& model) {
    attn::section(std::cout, "Tensor parallelism: who owns what");
    const attn::LlamaConfig& c = model.config();
    std::cout << "the model: dim " << c.dim << ", " << c.n_layers << " blocks of " << c.n_heads
              << " query heads sharing " << c.n_kv_heads << " key/value heads,\nSwiGLU "
              << c.hidden_dim << ", vocabulary " << c.vocab_size << " (random weights)\n\n";
    for (std::size_t P : {std::size_t{1}, std::size_t{2}, std::size_t{3}, std::size_t{4}}) {
        std::cout << "P = " << P << ":\n";
        try {
            for (std::size_t r = 0; r < P; ++r) {
                const attn::HeadShare s = attn::head_share(c, r, P);
                std::cout << "  rank " << r << ": " << span("head", s.first_head, s.heads)
                          << ", key/value " << span("head", s.first_kv_head, s.kv_heads) << ", "
                          << span("feature", s.first_hidden, s.hidden) << '\n';
            }
        } catch (const std::invalid_argument& e) {
            std::cout << "  refused:\n    " << e.what() << '\n';
        }
    }
}

/// ## Tensor-parallel decoding
///
/// Each rank decodes with its shard and a KV cache of its own key/value heads only, and
/// every block's two sub-layers end in attn::Ranks::sum(), the all-reduce:
///
/// \show distributed_llama.cpp TensorParallelLlama::forward
///
/// The model is chapter 08's Llama with random weights, shaped so that its 8 query heads,
/// 4 key/value heads and 384 features split over 1, 2 and 4 ranks, with room for 256
/// tokens. (Chapter 09's trained Llama has 2 key/value heads, so it splits over 2 ranks at
/// most, and 16 positions.) Every rank also decodes with chapter 08's attn::CachedLlama,
/// the whole model in one process, as the reference. The parts are summed in another order than one process adds
/// its terms, so the logits agree to float rounding, not to the bit: the largest difference
/// over {{tp_steps}} greedy steps is {{tp_max_difference}} (logits of size about
/// {{tp_logit_scale}}); {{tp_verdict}}. Each rank keeps {{tp_weight_share}} of the blocks'
/// weights and of the KV cache; the embedding, the norms and the classifier stay whole on
/// every rank.
void show_tensor_parallel(attn::Ranks& ranks, const attn::Llama& model,
                          const std::vector<std::size_t>& prompt, std::size_t steps,
                          const std::vector<std::size_t>& reference,
                          const std::vector<Vector>& reference_logits, const Settings& settings,
                          bool& ok) {
    attn::section(std::cout, "Tensor-parallel decoding");
    try {
        attn::TensorParallelLlama tp(model, ranks);
        ranks.reset_traffic();
        std::vector<Vector> logits;
        std::size_t calls = 0;
        const auto forward = [&](const std::vector<std::size_t>& tokens) {
            ++calls;
            if (static_cast<long>(ranks.rank()) == settings.fail_rank && calls == 3)
                throw std::runtime_error(
                    "--fail-rank: this rank was told to fail at its third step");
            Vector logits = tp.forward(tokens);
            if (calls == 1) ranks.reset_traffic();  // count the tokens after the prompt
            return logits;
        };
        const auto start = std::chrono::steady_clock::now();
        const std::vector<std::size_t> tokens = greedy(forward, prompt, steps, logits);
        const double seconds =
            std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
        const attn::Traffic sent = ranks.traffic();
        const bool same = ranks.all(tokens == reference);
        const double diff = max_difference(logits, reference_logits);
        double scale = 0.0;
        for (const Vector& l : reference_logits)
            scale = std::max(scale, static_cast<double>(xt::amax(xt::abs(l))()));
        const attn::CommCost model_cost = attn::tensor_parallel_cost(model.config(), ranks.size());
        const double per_token = steps > 0 ? sent.bytes / static_cast<double>(steps) : 0.0;
        const double messages = steps > 0 ? sent.messages / static_cast<double>(steps) : 0.0;
        std::size_t full = 0;
        for (const attn::LlamaLayer& l : model.weights().layers)
            for (const attn::LinearWeight* w :
                 {&l.w_q, &l.w_k, &l.w_v, &l.w_o, &l.w_gate, &l.w_up, &l.w_down})
                full += w->out() * w->in() * sizeof(float);
        std::cout << std::setprecision(3) << steps << " greedy tokens after a prompt of "
                  << prompt.size()
                  << ": the same as one process's: " << (same ? "yes, on every rank" : "NO")
                  << "\nlargest logit difference: " << attn::quote("tp_max_difference", small(diff))
                  << " (logits up to " << attn::quote("tp_logit_scale", scale, 2) << ")\n"
                  << "this rank's block weights: " << tp.shard_weight_bytes() << " bytes of "
                  << full << " ("
                  << attn::quote("tp_weight_share", "1/" + std::to_string(ranks.size()))
                  << "); its KV cache: " << tp.cache_bytes() << " bytes\n"
                  << std::fixed << std::setprecision(0)
                  << "sent by this rank per decoded token: " << per_token << " bytes in "
                  << messages << " messages;\n  the model's count: " << model_cost.bytes
                  << " bytes in " << model_cost.messages << " messages ("
                  << (same_count(per_token, model_cost.bytes) &&
                              same_count(messages, model_cost.messages)
                          ? "equal"
                          : "NOT EQUAL")
                  << ")\n"
                  << "time: " << std::setprecision(3) << seconds << " s ("
                  << (ranks.size() > std::thread::hardware_concurrency() ? "ranks share cores: "
                                                                           "not a speed"
                                                                         : "one thread a rank")
                  << ")\n";
        attn::quote("tp_steps", std::to_string(steps));
        attn::quote("tp_verdict", same ? "the greedy tokens are the same at every step"
                                       : "the greedy tokens DIFFER");
        ok = ok && same && same_count(per_token, model_cost.bytes) &&
             same_count(messages, model_cost.messages);
    } catch (const std::invalid_argument& e) {
        // Every rank refuses the same split the same way, so none is left waiting.
        std::cout << "tensor parallelism over " << ranks.size() << " ranks refused: " << e.what()
                  << '\n';
        attn::quote("tp_steps", std::to_string(steps));
        attn::quote("tp_max_difference", "not measured (the split was refused)");
        attn::quote("tp_logit_scale", "-");
        attn::quote("tp_verdict", "this run's P does not split the heads");
        attn::quote("tp_weight_share", "-");
    }
}

/// ## A KV cache sharded across ranks
///
/// Tensor parallelism splits the weights and, with them, the cache. When the weights fit
/// but one long sequence's cache does not, the cache alone can be split, by position: rank
/// r keeps positions r, r + P, r + 2P, ... Each rank computes, for every query head, its
/// partial state over its positions: the largest score m, the sum \f$\ell\f$ of the
/// exponentials against it, and the values weighted by them, o. The states merge like
/// chapter 07's, the outputs rescaled as the sums are:
///
/// \show partition.cpp merge_partials
///
/// One collective merges them: an all-reduce whose operation is that merge, registered with
/// MPI as a user-defined reduction. The alternative, gathering every rank's states to one
/// rank and merging there, would leave the others without the result until a broadcast;
/// the reduction gives every rank the merged state in \f$\lceil \log_2 P \rceil\f$ steps.
/// The merge is declared not commutative, so MPI merges in rank order and every rank gets
/// the same bits:
///
/// \show ranks.cpp merge_op Ranks::merge
///
/// The cache implements chapter 08's cache interface, which attends one query head at a
/// time, so the program merges one head at a time too: one all-reduce per head and layer.
/// Merging all the heads of a layer in one all-reduce would send the same bytes in
/// n_heads times fewer messages; the cost model at the end counts what the program does.
/// The cache stores the step's rows whose positions are this rank's, and attends a query
/// head over them, the partial state packed as (m, \f$\ell\f$, o) for the merge:
///
/// \show distributed_llama.cpp ShardedKVLlama::Kv
///
/// The block is again attn::llama_block(), unchanged:
///
/// \show distributed_llama.cpp ShardedKVLlama::forward
///
/// Here {{kv_verdict}}, the largest logit difference {{kv_max_difference}}; each rank's
/// cache holds {{kv_cache_share}} of the positions.
void show_sharded_kv(attn::Ranks& ranks, const attn::Llama& model,
                     const std::vector<std::size_t>& prompt, std::size_t steps,
                     const std::vector<std::size_t>& reference,
                     const std::vector<Vector>& reference_logits, bool& ok) {
    attn::section(std::cout, "A KV cache sharded across ranks");
    attn::ShardedKVLlama sharded(model, ranks);
    std::vector<Vector> logits;
    std::size_t calls = 0;
    const std::vector<std::size_t> tokens = greedy(
        [&](const std::vector<std::size_t>& t) {
            Vector l = sharded.forward(t);
            if (++calls == 1) ranks.reset_traffic();  // count the tokens after the prompt
            return l;
        },
        prompt, steps, logits);
    const attn::Traffic sent = ranks.traffic();
    const bool same = ranks.all(tokens == reference);
    const double diff = max_difference(logits, reference_logits);
    const attn::CommCost model_cost = attn::sharded_kv_cost(model.config(), ranks.size());
    const double per_token = steps > 0 ? sent.bytes / static_cast<double>(steps) : 0.0;
    const double messages = steps > 0 ? sent.messages / static_cast<double>(steps) : 0.0;
    const std::size_t d_head = model.config().dim / model.config().n_heads;
    const std::size_t whole_bytes = 2 * model.config().n_layers * model.config().n_kv_heads *
                                    d_head * model.config().seq_len * sizeof(float);
    std::cout << std::setprecision(3) << steps << " greedy tokens: the same as one process's: "
              << (same ? "yes, on every rank" : "NO")
              << "\nlargest logit difference: " << attn::quote("kv_max_difference", small(diff))
              << "\nthis rank's KV cache: " << sharded.cache_bytes() << " bytes of " << whole_bytes
              << " (" << attn::quote("kv_cache_share", "1/" + std::to_string(ranks.size())) << ")\n"
              << std::fixed << std::setprecision(0)
              << "sent by this rank per decoded token: " << per_token << " bytes in " << messages
              << " messages;\n  the model's count: " << model_cost.bytes << " bytes in "
              << model_cost.messages << " messages ("
              << (same_count(per_token, model_cost.bytes) &&
                          same_count(messages, model_cost.messages)
                      ? "equal"
                      : "NOT EQUAL")
              << ")\n";
    attn::quote("kv_verdict", same ? "the greedy tokens are again the same at every step"
                                   : "the greedy tokens DIFFER");
    ok = ok && same && same_count(per_token, model_cost.bytes) &&
         same_count(messages, model_cost.messages);
}

/// ## Ring attention for a long prompt
///
/// A prompt of T positions makes T x T scores per head; chapter 07 made them fit one
/// machine's memory by tiles. Ring attention splits the positions across the ranks: each
/// holds the queries, keys and values of its positions. In step s each rank scores its
/// queries against the block of keys and values it holds, merges the result into each
/// query's partial state, and passes the block to the next rank; after P steps every query
/// has seen every block:
///
/// \show partition.cpp ring_source rank_chunks
///
/// \show distributed_llama.cpp ring_attention
///
/// Causal masking makes the naive split unbalanced: with contiguous chunks, rank 0's
/// queries see only their own chunk while rank P - 1's see all of them, so the last rank
/// computes about {{= 2P - 1}} times the first's scores and the others wait for it. The *zigzag*
/// assignment cuts the sequence in 2P chunks and gives rank r chunks r and 2P - 1 - r, one
/// early and one late: every rank's work is the same. The program counts the scores each
/// rank computed, compares them with attn::ring_work()'s formula, and compares the output
/// with chapter 07's tiled attention of the whole sequence in one process.
///
/// On T = {{ring_t}} positions and P = {{ranks}}: the largest difference from one
/// process's causal attention is {{ring_max_error}}; the busiest rank's work over the mean
/// is {{ring_contiguous_balance}} with contiguous chunks and {{ring_zigzag_balance}} with the
/// zigzag ({{ring_verdict}}).
///
/// \image html ch11_ring_work.svg "Scores computed by each rank, contiguous chunks and zigzag"
///
/// The pass is MPI_Sendrecv after the scoring, or MPI_Isend and MPI_Irecv begun before it
/// and waited for after it, so that the bytes travel while the ranks compute. The program
/// times both; {{ring_time_note}}.
void show_ring(attn::Ranks& ranks, std::size_t T_asked, const std::filesystem::path& figures,
               bool& ok) {
    attn::section(std::cout, "Ring attention for a long prompt");
    const std::size_t P = ranks.size(), T = T_asked - T_asked % (2 * P), d = 64;
    attn::Rng rng(5);
    const Matrix q = attn::random_normal(T, d, rng), k = attn::random_normal(T, d, rng),
                 v = attn::random_normal(T, d, rng);
    // One process's causal attention of the whole sequence (chapter 07), on every rank.
    const Matrix whole = attn::tiled_attention(q, k, v, true);
    double worst = 0.0;
    std::vector<double> balance, times;
    std::vector<std::vector<double>> work;
    for (const auto& [assignment, overlap] :
         {std::pair{attn::Assignment::contiguous, false},
          std::pair{attn::Assignment::zigzag, false}, std::pair{attn::Assignment::zigzag, true}}) {
        const std::vector<std::size_t> mine = attn::rank_positions(ranks.rank(), P, T, assignment);
        const Matrix mq = xt::view(q, xt::keep(mine), xt::all()),
                     mk = xt::view(k, xt::keep(mine), xt::all()),
                     mv = xt::view(v, xt::keep(mine), xt::all());
        const auto start = std::chrono::steady_clock::now();
        const attn::RingResult r = attn::ring_attention(mq, mk, mv, mine, ranks, overlap);
        times.push_back(
            std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
        const Matrix expected = xt::view(whole, xt::keep(mine), xt::all());
        worst = std::max(worst, static_cast<double>(xt::amax(xt::abs(r.out - expected))()));
        const std::vector<double> all = ranks.gather({r.scores});
        const std::vector<double> formula = attn::ring_work(T, P, assignment);
        if (all != formula) {
            throw std::logic_error("ring_attention computed other scores than ring_work() counts");
        }
        if (!overlap) {
            double top = 0.0, sum = 0.0;
            for (double w : all) {
                top = std::max(top, w);
                sum += w;
            }
            balance.push_back(top / (sum / static_cast<double>(P)));
            work.push_back(all);
        }
    }
    worst = ranks.gather({worst}).front();  // rank 0's; the same check holds on every rank
    std::cout << "T = " << attn::quote("ring_t", std::to_string(T)) << " positions (" << T_asked
              << " asked; the zigzag needs 2P equal chunks), one head of d = " << d
              << "\nlargest difference from one process's causal attention: "
              << attn::quote("ring_max_error", small(worst))
              << "\n\nscores computed by each rank:\n"
              << "  rank   contiguous       zigzag\n";
    for (std::size_t r = 0; r < P; ++r) {
        std::cout << std::setw(6) << r << std::setw(13) << static_cast<long long>(work[0][r])
                  << std::setw(13) << static_cast<long long>(work[1][r]) << '\n';
    }
    std::cout << std::fixed << std::setprecision(3)
              << "busiest over mean:   " << attn::quote("ring_contiguous_balance", balance[0], 3)
              << "        " << attn::quote("ring_zigzag_balance", balance[1], 3)
              << "   (goal for the zigzag: 1.05 at most)\n"
              << std::defaultfloat << std::setprecision(3)
              << "(the counts equal attn::ring_work()'s formula on every rank)\n";
    const bool shared = P > std::thread::hardware_concurrency();
    std::cout << "time on this rank: contiguous " << times[0] << " s, zigzag " << times[1]
              << " s,\n  zigzag with the pass overlapped " << times[2] << " s"
              << (shared ? "\n  (ranks share cores here: these are not speeds)" : "") << '\n';
    attn::quote("ring_verdict", balance[1] <= 1.05 ? "the zigzag meets the goal of 1.05"
                                                   : "the zigzag MISSES the goal of 1.05");
    attn::quote("ring_time_note",
                shared ? "with more ranks than cores, as on the machine that built this page, "
                         "the times measure the sharing of cores, not the overlap"
                       : "each rank had a core of its own, so the times compare");
    std::vector<double> x(P);
    for (std::size_t r = 0; r < P; ++r) x[r] = static_cast<double>(r);
    if (ranks.rank() == 0 && P > 1) {
        attn::write_svg_line_plot(figures / "ch11_ring_work.svg", x,
                                  {{"contiguous chunks", work[0]}, {"zigzag", work[1]}},
                                  "Chapter 11: ring attention's causal work", "rank",
                                  "scores computed");
        std::cout << "Figure written to " << (figures / "ch11_ring_work.svg").string() << '\n';
    } else if (ranks.rank() == 0) {
        attn::write_svg_line_plot(
            figures / "ch11_ring_work.svg", {0.0, 1.0},
            {{"contiguous chunks", {work[0][0], work[0][0]}}, {"zigzag", {work[1][0], work[1][0]}}},
            "Chapter 11: ring attention's causal work (one rank)", "rank", "scores computed");
        std::cout << "Figure written to " << (figures / "ch11_ring_work.svg").string() << '\n';
    }
    ok = ok && worst < 1e-4 && balance[1] <= 1.05;
}

/// ## What it costs
///
/// Sending a message of n bytes costs about \f$\alpha + n / \beta\f$: a latency α for
/// each message and a bandwidth β for its bytes (the α-β model). Each scheme sends a known
/// number of messages and bytes a token, given by the formulas of partition.hpp; the
/// sections above compared them with the tally of the collectives the program ran:
///
/// \show partition.cpp ring_allreduce_bytes tensor_parallel_cost sharded_kv_cost ring_attention_cost
///
/// A ring all-reduce of n bytes over P ranks cuts the data in P pieces and passes one piece
/// per step, P - 1 steps to add the pieces up and P - 1 to hand the sums round: each rank
/// sends \f$2 (P - 1) / P \cdot n\f$ bytes, almost twice the data however large P grows,
/// but in 2(P - 1) messages, so its latency grows with P.
///
/// The times on this page cannot show what that means on a real cluster, so the program
/// projects them, clearly as projections, for Llama-3-70B (dim 8192, 80 layers, 64 query
/// heads, 8 key/value heads of 128) at 8 and 64 devices, on links like NVLink within a
/// server (α = {{= 2 µs}}, β = {{= 300 GB/s}}) and like InfiniBand between servers
/// (α = {{= 5 µs}}, β = {{= 25 GB/s}}). A decoded token must also read its share of the
/// weights from memory: at {{= 3 TB/s}} that takes {{read_ms_8}} ms on 8 devices and
/// {{read_ms_64}} ms on 64 with tensor parallelism (with a sharded cache every device reads
/// all the weights). A scheme stops paying where its communication takes longer than
/// that: {{cost_verdict}}.
void show_cost(attn::Ranks& ranks) {
    attn::section(std::cout, "What it costs");
    attn::LlamaConfig big{.dim = 8192,
                          .hidden_dim = 28672,
                          .n_layers = 80,
                          .n_heads = 64,
                          .n_kv_heads = 8,
                          .vocab_size = 128256,
                          .seq_len = 131072};
    const double weights = 70.6e9 * 2.0, hbm = 3e12;  // bytes in 16 bits; bytes per second
    struct Link {
        const char* name;
        double alpha, beta;
    };
    const Link links[] = {{"NVLink-class", 2e-6, 300e9}, {"InfiniBand-class", 5e-6, 25e9}};
    std::cout << "projections for Llama-3-70B, 16-bit numbers (not measured here):\n"
              << "  devices  link               tensor parallel   sharded KV     ring, "
                 "128k prompt\n"
              << "                                 ms a token     ms a token     s a prompt\n";
    std::vector<std::string> stops;
    bool tp_inside = false, kv_everywhere = true;  // TP pays at 8 NVLink-class devices; KV never
    for (std::size_t P : {std::size_t{8}, std::size_t{64}}) {
        const double read_ms = weights / static_cast<double>(P) / hbm * 1e3;
        attn::quote("read_ms_" + std::to_string(P), read_ms, 2);
        for (const Link& link : links) {
            const attn::CommCost tp = attn::tensor_parallel_cost(big, P, 2);
            const attn::CommCost kv = attn::sharded_kv_cost(big, P, 2);
            const attn::CommCost ring = attn::ring_attention_cost(big, 131072, P, 2);
            const double tp_ms = tp.seconds(link.alpha, link.beta) * 1e3,
                         kv_ms = kv.seconds(link.alpha, link.beta) * 1e3;
            std::cout << std::fixed << std::setprecision(2) << std::setw(9) << P << "  "
                      << std::left << std::setw(17) << link.name << std::right << std::setw(17)
                      << tp_ms << std::setw(15) << kv_ms << std::setw(15)
                      << ring.seconds(link.alpha, link.beta) << '\n'
                      << std::defaultfloat;
            const std::string where = std::to_string(P) + " devices, " + link.name + " links: ";
            const auto ms = [](double t) {
                return std::to_string(static_cast<int>(std::round(t)));
            };
            if (tp_ms > read_ms)
                stops.push_back("tensor parallelism, " + where + ms(tp_ms) + " ms a token");
            else if (P == 8 && link.beta > 100e9)
                tp_inside = true;
            // A sharded cache: every device reads all the weights, weights / hbm.
            const double all_ms = weights / hbm * 1e3;
            if (kv_ms > all_ms)
                stops.push_back("a sharded cache, " + where + ms(kv_ms) + " ms a token");
            else
                kv_everywhere = false;
        }
    }
    std::cout << "weights read per token at 3 TB/s: " << weights / 8.0 / hbm * 1e3
              << " ms on 8 devices, " << weights / 64.0 / hbm * 1e3 << " ms on 64, "
              << weights / hbm * 1e3 << " ms on one\n";
    std::string verdict;
    for (const std::string& item : stops) verdict += (verdict.empty() ? "" : "; ") + item;
    if (verdict.empty()) {
        verdict = "none of the projected cases does";
    } else {
        verdict = "that happens for " + verdict;
        if (tp_inside)
            verdict +=
                ". Tensor parallelism pays inside a server (8 devices, NVLink-class "
                "links), which is where it is used; servers split the layers between "
                "them instead (pipeline parallelism)";
        if (kv_everywhere)
            verdict +=
                ". A cache sharded by position, merged once per head and layer, costs "
                "more than reading the weights in every case: it is for a sequence whose "
                "cache fits on no one device, not for speed";
    }
    attn::quote("cost_verdict", verdict);
    std::cout << "where communication outweighs reading the weights:\n";
    for (const std::string& item : stops) std::cout << "  " << item << '\n';
    if (stops.empty()) std::cout << "  nowhere\n";
    (void)ranks;
}

/// ## Faults and bad input
///
/// A distributed program has a failure mode one process does not: a rank that stops while
/// the others wait for its message in a collective leaves them waiting forever. So every
/// rank runs its work inside attn::run_or_abort(): an error on any rank is printed with the
/// rank's number and ends every rank through MPI_Abort.
///
/// \show ranks.cpp run_or_abort
///
/// The tests run the program with `--fail-rank 1` (rank 1 throws in the middle of
/// decoding while the others wait in an all-reduce) and with `--seed-rank 2` (rank 2 builds
/// its model from another seed, which the hash check catches), each under a time limit, and
/// expect the message naming the rank, not a hang. Under `mpiexec -n 3` the model's 8 heads
/// do not split, and the tensor-parallel section says so and goes on; the sharded cache and
/// the ring take any P. Run without mpiexec, the program is P = 1 and every check holds
/// trivially.
constexpr const char* description =
    "Attention across processes with MPI: tensor-parallel heads, a KV cache sharded by\n"
    "position, ring attention with a zigzag assignment, and what each costs. Run it under\n"
    "mpiexec -n P (P = 1 without it).";

int main(int argc, char** argv) {
    attn::MpiSession session(argc, argv);
    attn::Ranks ranks;
    // One rank speaks: the others compute and communicate, silently.
    if (ranks.rank() != 0) {
        std::cout.setstate(std::ios::badbit);
        std::cerr.setstate(std::ios::badbit);  // a rank's own errors go to C's stderr
        unsetenv("ATTN_BOOK_VALUES");
    }
    std::vector<attn::ChapterOption> options = {
        {"quick", "yes", "32 tokens and a prompt of 512 positions (the tests)", "no", false},
        {"fail-rank", "R", "rank R throws in the middle of decoding (a test of the abort)", "",
         false},
        {"seed-rank", "R", "rank R builds its model from another seed (a test of the check)", "",
         false}};
    return attn::run_chapter(
        argc, argv, description, options, [&](const std::filesystem::path& figures) {
            attn::use_one_blas_thread();
            Settings s;
            s.quick = options[0].value == "yes";
            if (options[1].given) s.fail_rank = std::stol(options[1].value);
            if (options[2].given) s.seed_rank = std::stol(options[2].value);
            const int status = attn::run_or_abort(ranks, [&] {
                const attn::LlamaConfig c = attn::split_model_config();
                attn::Rng rng(static_cast<long>(ranks.rank()) == s.seed_rank ? 12 : 11);
                const attn::Llama model(c, attn::llama_random(c, rng));
                show_processes(ranks, model, s);
                // The cost of the model behind the introduction's numbers.
                attn::quote("weights_gb_70b", gb(70.6e9 * 2.0));
                attn::quote("kv_gb_70b", gb(2.0 * 80 * 8 * 128 * 2 * 131072));
                attn::quote("cores", std::to_string(std::thread::hardware_concurrency()));
                show_ownership(model);
                const std::vector<std::size_t> prompt = {1, 17, 99, 4, 256, 37, 8, 400};
                const std::size_t steps = s.quick ? 32 : 256;
                attn::CachedLlama alone(model);
                std::vector<Vector> reference_logits;
                const std::vector<std::size_t> reference = greedy(
                    [&](const std::vector<std::size_t>& t) {
                        const Matrix l = alone.forward(t);
                        return Vector(xt::row(l, l.shape(0) - 1));
                    },
                    prompt, steps, reference_logits);
                bool ok = true;
                show_tensor_parallel(ranks, model, prompt, steps, reference, reference_logits, s,
                                     ok);
                show_sharded_kv(ranks, model, prompt, steps, reference, reference_logits, ok);
                show_ring(ranks, s.quick ? 512 : 4096, figures, ok);
                show_cost(ranks);
                if (!ranks.all(ok))
                    throw std::runtime_error(
                        "a scheme missed its goal (above, marked NO or MISSES)");
                std::cout << "\nall goals held on " << ranks.size()
                          << (ranks.size() == 1 ? " rank" : " ranks") << '\n';
            });
            if (status != 0) throw std::runtime_error("a rank failed");
        });
}
