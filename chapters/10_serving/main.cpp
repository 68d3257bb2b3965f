/// # Chapter 10: Serving many readers
///
/// Chapter 06 measured the KV cache of one sequence, which grows with every token. For one
/// sequence it is small beside the model: at stories15M's shape, a whole context of 256
/// positions holds {{kv_context_mb}} MB of keys and values against {{weights_mb}} MB of
/// weights. A server holds the caches of many sequences at once, some of them long: once
/// they hold more than {{kv_like_weights}} positions in all, the cache outweighs the model
/// and is the main memory cost of generating text (this chapter's simulated server keeps
/// {{trace_memory_mb}} MB of it). And it does not know how long any sequence will become.
/// Reserving the longest possible cache for each wastes most of the memory: Kwon et al.
/// (2023, the vLLM paper) measured {{= 60-80%}} of the KV memory wasted in the serving
/// systems before theirs, and under {{= 4%}} with their PagedAttention. And chapter 08's
/// decoder reads every weight of the model for every token, so memory's speed bounds it:
/// decoding many sequences together reads the weights once for all of them.
///
/// This chapter builds both ideas on chapter 08's Llama: a paged KV cache
/// (paged_cache.hpp), a server's memory simulated on a trace of requests
/// (serving_trace.hpp), shared prefixes, batched decoding with its roofline
/// (batched_llama.hpp), and keys and values stored in 8 bits.
#include "chapters/10_serving/batched_llama.hpp"
#include "chapters/10_serving/paged_cache.hpp"
#include "chapters/10_serving/scheduler.hpp"
#include "chapters/10_serving/serving_trace.hpp"

#include "chapters/08_real_model/checkpoint.hpp"
#include "chapters/09_learning/training.hpp"
#include "common/blas_threads.hpp"
#include "common/chapter_program.hpp"
#include "common/plot.hpp"
#include "common/print.hpp"
#include "common/quote.hpp"
#include "common/random.hpp"
#include "common/svg.hpp"

#include <xtensor/xsort.hpp>
#include <xtensor/xview.hpp>

#include <array>
#include <chrono>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iomanip>
#include <iostream>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include <unistd.h>

using attn::Matrix;
using attn::PagedKVCache;
using attn::Vector;

/// ## A paged KV cache
///
/// Chapter 06's cache gives each sequence one array of seq_len positions. The paged cache
/// cuts the memory into blocks of a few positions (16 is usual) in one pool, and gives a
/// sequence a block only when it needs one. A sequence keeps its block table, the list of
/// its blocks in order: position p is row p mod block_size of block table[p / block_size].
/// The blocks of one sequence can be anywhere in the pool, as the pages of a process can be
/// anywhere in physical memory; the block table is its page table.
///
/// \show paged_cache.cpp block_slot
///
/// A pool keeps the free blocks on a stack and counts each block's owners, because two
/// sequences may share a block (see below). The block tables (attn::BlockTables) are that
/// bookkeeping and nothing more: which blocks each sequence holds, and how many positions.
/// Growing a sequence by one position takes a new block only when its last block is full
/// (or, as below, when that block is shared with another sequence):
///
/// \show paged_cache.cpp BlockAllocator::allocate BlockAllocator::release BlockTables::append_position
///
/// The numbers live apart from the tables, in a storage (attn::KVStorage): rows of d_head
/// numbers, a key row and a value row at each index, kept as float32 here and as int8 at the
/// end of the chapter. Which one is chosen once, when the cache is made, so no access asks
/// again. A cache is its tables and one storage:
///
/// \show paged_cache.cpp PagedKVCache::PagedKVCache Float32Storage::write Float32Storage::copy
///
/// Making room for a position asks the tables where it goes and, when a shared block was
/// replaced by a copy, has the storage copy the rows in every layer and head:
///
/// \show paged_cache.cpp PagedKVCache::append_position
///
/// Attention reads keys and values through the table: the scores block after block, their
/// softmax, and the weighted values block after block. Within a block, the rows of one head
/// are contiguous, so the inner loops are the sums of chapter 08's attend_one(), four rows at
/// a time (four sums that do not wait for each other), with one indirection per block. The
/// kernel has one version per storage type; both are below, the float32 one first (the
/// int8 one is explained in the section on 8-bit keys and values):
///
/// \show paged_kernels.cpp attend_paged
///
/// A decode step of many sequences (BatchedLlama::step, below) runs its projections on all
/// the sequences' new tokens at once and calls this attention per token. The program runs a
/// small Llama (2 layers, 4 heads, 2 key/value heads, seeded random weights) on a prompt of
/// 21 tokens and 12 decoded ones, through the paged cache with several block sizes, and
/// compares every step's logits with chapter 08's CachedLlama, whose cache is chapter 06's
/// contiguous one. Block size 1 is a table entry per position; 64 is a single block, longer
/// than the whole sequence:
namespace {

// Seeded random tokens of a vocabulary.
std::vector<std::size_t> random_tokens(std::size_t n, std::size_t vocab, attn::Rng& rng) {
    std::vector<std::size_t> t(n);
    for (std::size_t& x : t)
        x = std::min(vocab - 1,
                     static_cast<std::size_t>(rng.uniform() * static_cast<float>(vocab)));
    return t;
}

double seconds_since(std::chrono::steady_clock::time_point t0) {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

// A small Llama for the sections that compare numbers: 2 layers, 4 heads, 2 key/value heads.
attn::Llama small_llama(std::size_t seq_len) {
    attn::LlamaConfig c{.dim = 64,
                        .hidden_dim = 128,
                        .n_layers = 2,
                        .n_heads = 4,
                        .n_kv_heads = 2,
                        .vocab_size = 256,
                        .seq_len = seq_len};
    attn::Rng rng(10);
    return attn::Llama(c, attn::llama_random(c, rng));
}

// A cache that fits a model.
attn::PagedCacheConfig cache_for(const attn::LlamaConfig& c, std::size_t block_size,
                                 std::size_t n_blocks,
                                 attn::KVPrecision precision = attn::KVPrecision::float32) {
    return {c.n_layers, c.n_kv_heads, c.dim / c.n_heads, block_size, n_blocks, precision};
}

// A PagedKVCache's state, as the figure of the paged cache draws it.
struct CacheState {
    std::string caption;
    std::vector<PagedKVCache::SequenceId> ids;     // the sequences, in order
    std::vector<std::vector<std::size_t>> tables;  // per sequence, its block table
    std::vector<std::size_t> lengths;              // per sequence, positions held
    std::vector<std::size_t> owners;               // per block of the pool
};

CacheState state_of(const PagedKVCache& cache, std::string caption) {
    CacheState s{std::move(caption), cache.sequences(), {}, {}, {}};
    for (PagedKVCache::SequenceId id : s.ids) {
        s.tables.push_back(cache.block_table(id));
        s.lengths.push_back(cache.length(id));
    }
    for (std::size_t b = 0; b < cache.allocator().n_blocks(); ++b)
        s.owners.push_back(cache.allocator().owners(b));
    return s;
}

// How many positions a sequence held in a state (0 when it did not exist yet).
std::size_t length_before(const CacheState& state, PagedKVCache::SequenceId id) {
    for (std::size_t i = 0; i < state.ids.size(); ++i)
        if (state.ids[i] == id) return state.lengths[i];
    return 0;
}

// A block copied on write between two states: a table entry that changed.
struct BlockCopy {
    std::size_t sequence, from, to, rows;
};

std::vector<BlockCopy> copies_between(const CacheState& before, const CacheState& after,
                                      std::size_t block_size) {
    std::vector<BlockCopy> out;
    for (std::size_t i = 0; i < after.ids.size(); ++i)
        for (std::size_t j = 0; j < before.ids.size(); ++j) {
            if (before.ids[j] != after.ids[i]) continue;
            const auto& old_table = before.tables[j];
            for (std::size_t e = 0; e < old_table.size() && e < after.tables[i].size(); ++e)
                if (old_table[e] != after.tables[i][e])
                    out.push_back({after.ids[i], old_table[e], after.tables[i][e],
                                   std::min(block_size, before.lengths[j] - e * block_size)});
        }
    return out;
}

// The paged cache's figure: for each state, the sequences' block tables above, the pool's
// blocks below with the positions each row holds and each block's owners, an arrow from
// each table entry to its block, and an arrow for each block copied since the state before.
void write_paged_cache_figure(const std::filesystem::path& path,
                              const std::vector<CacheState>& states, std::size_t block_size) {
    constexpr const char* fn = "write_paged_cache_figure";
    constexpr int width = 780, block_w = 80, block_gap = 14, row_h = 13, header_h = 15;
    const std::array<const char*, 2> stroke{"#1f5fa8", "#d2691e"}, fill{"#c6dbef", "#fdd0a2"};
    const int block_h = header_h + static_cast<int>(block_size) * row_h;
    const int band = 272;
    std::ofstream svg =
        attn::begin_svg(fn, path, width, band * static_cast<int>(states.size()) + 10);
    // Arrowheads in each sequence's colour (0, 1) and in black (2), for the copies.
    svg << "<defs>";
    for (int m = 0; m < 3; ++m)
        svg << "<marker id=\"arrow" << m << "\" viewBox=\"0 0 10 10\" refX=\"9\" refY=\"5\" "
            << "markerWidth=\"7\" markerHeight=\"7\" orient=\"auto\"><path d=\"M0,0 L10,5 "
            << "L0,10 z\" fill=\"" << (m < 2 ? stroke[m] : "#333") << "\"/></marker>";
    svg << "</defs>\n";
    for (std::size_t k = 0; k < states.size(); ++k) {
        const CacheState& s = states[k];
        const int y0 = static_cast<int>(k) * band + 6;
        attn::svg_text(svg, 10, y0 + 16, s.caption, "font-weight=\"bold\"");
        const int pool_y = y0 + 122;
        const auto block_x = [&](std::size_t b) {
            return 10 + static_cast<int>(b) * (block_w + block_gap);
        };
        // The pool: each block's rows, coloured by the sequences that own it.
        attn::svg_text(svg, width - 10, pool_y + block_h + 36,
                       "the pool: " + std::to_string(s.owners.size()) + " blocks of " +
                           std::to_string(block_size) + " positions",
                       "text-anchor=\"end\" fill=\"#555\"");
        for (std::size_t b = 0; b < s.owners.size(); ++b) {
            const int x = block_x(b);
            std::vector<std::size_t> users;  // indices of the sequences whose table holds b
            std::size_t rows = 0;
            for (std::size_t i = 0; i < s.ids.size(); ++i)
                for (std::size_t e = 0; e < s.tables[i].size(); ++e)
                    if (s.tables[i][e] == b) {
                        users.push_back(i);
                        rows = std::max(rows, std::min(block_size, s.lengths[i] - e * block_size));
                    }
            const bool free = s.owners[b] == 0;
            svg << "<rect x=\"" << x << "\" y=\"" << pool_y << "\" width=\"" << block_w
                << "\" height=\"" << block_h << "\" fill=\"white\" stroke=\""
                << (free ? "#bbb\" stroke-dasharray=\"3 3" : "#555") << "\"/>\n";
            attn::svg_text(svg, x + block_w / 2.0, pool_y + 11, "block " + std::to_string(b),
                           "text-anchor=\"middle\" font-size=\"11\"");
            for (std::size_t r = 0; r < rows; ++r) {
                const int ry = pool_y + header_h + static_cast<int>(r) * row_h;
                const int part = block_w / static_cast<int>(std::max<std::size_t>(1, users.size()));
                for (std::size_t u = 0; u < users.size(); ++u)
                    svg << "<rect x=\"" << x + static_cast<int>(u) * part << "\" y=\"" << ry
                        << "\" width=\"" << part << "\" height=\"" << row_h << "\" fill=\""
                        << fill[users[u] % 2] << "\" stroke=\"white\"/>\n";
                // Which position the row holds: the same in every table that holds the block;
                // in bold when it was written since the state before.
                std::size_t entry = 0;
                while (s.tables[users[0]][entry] != b) ++entry;
                const std::size_t p = entry * block_size + r;
                const bool fresh = k > 0 && p >= length_before(states[k - 1], s.ids[users[0]]);
                attn::svg_text(svg, x + block_w / 2.0, ry + 10, "position " + std::to_string(p),
                               std::string("text-anchor=\"middle\" font-size=\"9\"") +
                                   (fresh ? " font-weight=\"bold\"" : ""));
            }
            const std::string owners = free ? "free" : "owners " + std::to_string(s.owners[b]);
            attn::svg_text(svg, x + block_w / 2.0, pool_y + block_h + 15, owners,
                           std::string("text-anchor=\"middle\" font-size=\"11\"") +
                               (free              ? " fill=\"#999\""
                                : s.owners[b] > 1 ? " font-weight=\"bold\""
                                                  : ""));
        }
        // The block tables, and an arrow from each entry to its block.
        for (std::size_t i = 0; i < s.ids.size(); ++i) {
            const int tx = 10 + static_cast<int>(i % 2) * 390, ty = y0 + 32;
            const std::string label = "sequence " + std::to_string(s.ids[i]) + ", " +
                                      std::to_string(s.lengths[i]) + " positions, block table:";
            attn::svg_text(svg, tx, ty + 16, label, std::string("fill=\"") + stroke[i % 2] + "\"");
            for (std::size_t e = 0; e < s.tables[i].size(); ++e) {
                const int cx = tx + static_cast<int>(attn::text_width(label, 13)) + 8 +
                               static_cast<int>(e) * 36;
                svg << "<rect x=\"" << cx << "\" y=\"" << ty << "\" width=\"30\" height=\"22\" "
                    << "fill=\"" << fill[i % 2] << "\" stroke=\"" << stroke[i % 2] << "\"/>\n";
                attn::svg_text(svg, cx + 15, ty + 16, std::to_string(s.tables[i][e]),
                               "text-anchor=\"middle\"");
                const int bx = block_x(s.tables[i][e]) + block_w / 2 + (i == 0 ? -8 : 8);
                svg << "<path d=\"M" << cx + 15 << ',' << ty + 22 << " C" << cx + 15 << ','
                    << ty + 60 << ' ' << bx << ',' << pool_y - 50 << ' ' << bx << ',' << pool_y
                    << "\" fill=\"none\" stroke=\"" << stroke[i % 2]
                    << "\" stroke-width=\"1.5\" marker-end=\"url(#arrow" << i % 2 << ")\"/>\n";
            }
        }
        if (k == 0) continue;
        // The copies made on write since the state before.
        for (const BlockCopy& copy : copies_between(states[k - 1], s, block_size)) {
            const int x1 = block_x(copy.from) + block_w / 2, x2 = block_x(copy.to) + block_w / 2;
            const int y = pool_y + block_h + 22;
            svg << "<path d=\"M" << x1 << ',' << y << " C" << x1 << ',' << y + 30 << ' ' << x2
                << ',' << y + 30 << ' ' << x2 << ',' << y
                << "\" fill=\"none\" stroke=\"#333\" stroke-width=\"1.5\" "
                   "stroke-dasharray=\"5 3\" marker-end=\"url(#arrow2)\"/>\n";
            attn::svg_text(svg, x1, y + 42,
                           "copy on write: sequence " + std::to_string(copy.sequence) +
                               " copies block " + std::to_string(copy.from) + "'s " +
                               std::to_string(copy.rows) + " filled rows into block " +
                               std::to_string(copy.to) + ", then writes its new position there",
                           "font-size=\"12\"");
        }
    }
    attn::end_svg(svg, fn, path);
}

}  // namespace

void show_paged_cache(const std::filesystem::path& figures) {
    attn::section(std::cout, "A paged KV cache");
    const attn::Llama model = small_llama(64);
    attn::Rng rng(11);
    const std::vector<std::size_t> prompt = random_tokens(21, 256, rng);
    attn::CachedLlama reference(model);
    std::vector<Matrix> expected{reference.prefill(prompt)};
    std::vector<std::size_t> next;
    for (int i = 0; i < 12; ++i) {
        next.push_back(attn::greedy_token(xt::row(expected.back(), expected.back().shape(0) - 1)));
        expected.push_back(reference.forward({next.back()}));
    }
    std::cout << "  block size   blocks used   max |paged - contiguous| over 13 steps\n";
    for (std::size_t block : {1, 3, 16, 64}) {
        PagedKVCache cache(cache_for(model.config(), block, 64));
        attn::BatchedLlama runner(model, cache);
        const PagedKVCache::SequenceId id = cache.add_sequence();
        float worst = 0.0f;
        for (std::size_t s = 0; s <= next.size(); ++s) {
            const Matrix got = runner.step({id}, {s == 0 ? prompt : std::vector{next[s - 1]}});
            const Matrix& want = expected[s];
            const auto last = xt::row(want, want.shape(0) - 1);
            worst =
                std::max(worst, static_cast<float>(xt::amax(xt::abs(xt::row(got, 0) - last))()));
        }
        std::cout << std::setw(12) << block << std::setw(14) << cache.block_table(id).size()
                  << std::setw(27) << std::setprecision(2) << worst << std::defaultfloat << '\n';
    }
    PagedKVCache cache(cache_for(model.config(), 4, 16));
    attn::BatchedLlama runner(model, cache);
    const PagedKVCache::SequenceId a = cache.add_sequence(), b = cache.add_sequence();
    runner.step({a, b}, {random_tokens(6, 256, rng), random_tokens(9, 256, rng)});
    runner.step({a, b}, {random_tokens(5, 256, rng), {7}});
    std::cout
        << "\ntwo sequences of 11 and 10 tokens in a pool of 16 blocks of 4, grown in turn:\n";
    for (PagedKVCache::SequenceId id : {a, b}) {
        std::cout << "  sequence " << id << ": block table";
        for (std::size_t blk : cache.block_table(id)) std::cout << ' ' << blk;
        const attn::BlockSlot slot = attn::block_slot(9, 4, cache.block_table(id));
        std::cout << "; position 9 is row " << slot.offset << " of block " << slot.block << '\n';
    }
    std::cout << "  free blocks: " << cache.allocator().free_blocks() << " of 16\n";

    // The figure: a fork and a write into the block it shares, read from a real cache.
    PagedKVCache small(cache_for(model.config(), 4, 8));
    attn::BatchedLlama small_runner(model, small);
    const PagedKVCache::SequenceId parent = small.add_sequence();
    small_runner.step({parent}, {random_tokens(6, 256, rng)});
    const PagedKVCache::SequenceId child = small.fork(parent);
    const CacheState forked =
        state_of(small, "1. after fork(): sequence " + std::to_string(child) + " shares sequence " +
                            std::to_string(parent) + "'s blocks, nothing is copied");
    const std::size_t position = small.length(child);
    small_runner.step({child}, {{7}});
    const CacheState written = state_of(small, "2. after sequence " + std::to_string(child) +
                                                   " writes position " + std::to_string(position));
    write_paged_cache_figure(figures / "ch10_paged_cache.svg", {forked, written}, 4);
    std::cout << "\nthe figure's cache, blocks of 4 in a pool of 8:\n";
    for (const CacheState* state : {&forked, &written}) {
        std::cout << "  " << state->caption << "\n   ";
        for (std::size_t i = 0; i < state->ids.size(); ++i) {
            std::cout << " sequence " << state->ids[i] << ": blocks";
            for (std::size_t blk : state->tables[i]) std::cout << ' ' << blk;
            std::cout << ';';
        }
        std::cout << " owners of blocks 0-7:";
        for (std::size_t n : state->owners) std::cout << ' ' << n;
        std::cout << '\n';
    }
    for (const BlockCopy& copy : copies_between(forked, written, 4)) {
        std::cout << "  copy on write: block " << attn::quote("cow_from", std::to_string(copy.from))
                  << "'s " << copy.rows << " filled rows into block "
                  << attn::quote("cow_to", std::to_string(copy.to)) << '\n';
    }
    for (std::size_t b = 0; b < written.owners.size(); ++b)
        if (written.owners[b] > 1) attn::quote("cow_shared", std::to_string(b));
    std::cout << "Figure written to " << (figures / "ch10_paged_cache.svg").string() << '\n';
}

/// The logits agree to float rounding for every block size: the paged cache changes where
/// the numbers are kept, never which numbers attention sees. (The small differences come
/// from the batched step's matrix products, which sum in another order than chapter 08's.)
/// Interleaved growth gives interleaved tables: sequence 0's blocks are not contiguous, and
/// nothing needs them to be.
///
/// The figure below is drawn from a real cache's state: blocks of 4 in a pool of 8, a
/// sequence of 6 positions, and fork() (used in Shared prefixes, below). The fork copies
/// nothing: its block table is a copy of its parent's, and every block it names now has 2
/// owners. When the fork writes its next position, that position's block is shared and
/// partly filled, so append_position() first copies it (copy on write): block {{cow_from}}'s
/// filled rows go into block {{cow_to}}, a free one, which takes its place in the fork's
/// table; block {{cow_from}} is again its parent's alone, with 1 owner. Block
/// {{cow_shared}}, full, stays shared with 2 owners: no sequence writes into a full block
/// again.
///
/// \image html ch10_paged_cache.svg "Block tables and the pool after a fork, and after the fork writes into its shared block"
///
/// ## A serving trace
///
/// How much memory does each way of caching waste? A server sees requests arrive, each with
/// a prompt and an output whose length nobody knows until the model writes its end token.
/// The program draws a seeded trace of 1000 requests: Poisson arrivals (one per decode step
/// on average, more than the server can finish, so that memory is what limits it), prompt
/// lengths log-normal around a median of 80 tokens and outputs around 120 (chat logs are
/// like this: most requests short, a few very long), and a `max_tokens` per request of 256,
/// 512 or 1024, as clients set it. The model's context is 2048 positions and the KV memory
/// holds 16384 positions ({{trace_memory_mb}} MB at stories15M's shape).
///
/// The simulated server admits requests first come, first served, while memory allows, and
/// decodes all admitted ones one token per step (continuous batching, Yu et al. 2022). Three
/// ways to give a request memory:
///
/// - max length: a contiguous reservation of the whole context, as a server must that
///   knows nothing about the request;
/// - max tokens: a contiguous reservation of prompt + max_tokens, placed first fit;
/// - paged: blocks of 16 positions as the sequence grows. When a sequence needs a block
///   and none is free, the sequence admitted last is evicted and later recomputed, as vLLM
///   does.
///
/// The two contiguous ways share one loop: a request waiting at the head of the queue takes
/// the first gap of free positions large enough for its reservation (first fit), and keeps
/// it until it finishes:
///
/// \show serving_trace.cpp first_fit simulate_reserved
///
/// The paged server's decisions are one scheduler's (attn::Scheduler), which sees nothing but
/// the block tables. Each step it first makes room for the running sequences' next tokens,
/// evicting the sequence admitted last while the pool is short, then, in a step that evicted
/// nobody, admits the waiting requests in order while their blocks fit with one block to
/// spare per running sequence:
///
/// \show scheduler.cpp Scheduler::plan Scheduler::generated
///
/// The admission rule itself is attn::admissions(): the queue's head first, each request
/// with the blocks of those admitted before it, and the first that does not fit stops the
/// walk, so that small requests cannot keep overtaking a large one and starve it:
///
/// \show scheduler.cpp admissions
///
/// The simulation runs that scheduler and, where a server would run the model, only appends
/// the step's positions to the tables; the server of the section after batched decoding runs
/// the same scheduler with the model:
///
/// \show serving_trace.cpp simulate_paged
///
/// Where the memory goes, as shares of the whole KV memory averaged over the steps:
/// "tokens" holds keys and values; "reserved" is held for tokens the sequence will write
/// later; internal fragmentation is held and not written: beyond the request's final
/// length, never, or, paged, the still-empty end of a sequence's last block; external
/// fragmentation is free but split into gaps too small for the request that waits; "free"
/// is free with nobody waiting for it, too little for the one who waits, or, paged, held
/// back as the margin for the running sequences' growth. The five columns add up to the
/// whole memory.
/// Wasted is the memory that holds no token and that no request can use:
///
/// \show serving_trace.cpp MemoryShares::wasted
void show_trace(const std::filesystem::path& figures) {
    attn::section(std::cout, "A serving trace");
    attn::TraceSpec spec;
    attn::Rng rng(2023);
    const std::vector<attn::Request> trace = attn::serving_trace(spec, rng);
    double prompt = 0, output = 0;
    for (const attn::Request& r : trace) {
        prompt += static_cast<double>(r.prompt);
        output += static_cast<double>(r.output);
    }
    // What the KV memory weighs at stories15M's shape, beside its weights.
    const attn::LlamaConfig stories = attn::stories15m_config();
    const double position_bytes =
        static_cast<double>(PagedKVCache(cache_for(stories, 16, 1)).bytes_per_position());
    const double weights = static_cast<double>(attn::weight_bytes_per_token(stories));
    std::cout << std::fixed << std::setprecision(0) << "at stories15M's shape a position of cache "
              << "takes " << position_bytes << " bytes, the weights "
              << attn::quote("weights_mb", weights / 1e6, 1) << " MB:\n  one sequence of "
              << stories.seq_len << " positions: "
              << attn::quote("kv_context_mb",
                             static_cast<double>(stories.seq_len) * position_bytes / 1e6, 1)
              << " MB; as much as the weights: "
              << attn::quote("kv_like_weights", std::ceil(weights / position_bytes), 0)
              << " positions\n  this server's KV memory, 16384 positions: "
              << attn::quote("trace_memory_mb", 16384 * position_bytes / 1e6, 0) << " MB, "
              << std::setprecision(1) << 16384 * position_bytes / weights
              << " times the weights\n\n";
    std::cout << trace.size() << " requests; mean prompt " << std::setprecision(0)
              << prompt / static_cast<double>(trace.size()) << " tokens, mean output "
              << output / static_cast<double>(trace.size()) << " tokens\n\n";
    std::cout << "  allocation       tokens reserved internal external  free wasted running "
                 "steps evicted\n";
    struct Row {
        const char* name;
        attn::Allocation a;
        std::size_t block;
    };
    std::vector<attn::TraceResult> results;
    for (const Row& row : {Row{"max length", attn::Allocation::max_length, 16},
                           Row{"max tokens", attn::Allocation::max_tokens, 16},
                           Row{"paged, block 1", attn::Allocation::paged, 1},
                           Row{"paged, block 16", attn::Allocation::paged, 16},
                           Row{"paged, block 64", attn::Allocation::paged, 64}}) {
        const attn::TraceResult r = attn::simulate_serving(trace, 16384, row.a, row.block);
        const attn::MemoryShares& m = r.shares;
        // Each row's figures are quoted as e.g. "paged16_wasted".
        std::string key = row.a == attn::Allocation::max_length   ? "max_length"
                          : row.a == attn::Allocation::max_tokens ? "max_tokens"
                                                                  : "paged";
        if (row.a == attn::Allocation::paged) key += std::to_string(row.block);
        const auto share = [&](const char* column, double value) {
            return attn::quote(key + '_' + column, 100 * value, 1) + '%';
        };
        std::cout << "  " << std::left << std::setw(15) << row.name << std::right << std::setw(8)
                  << share("tokens", m.tokens) << std::setw(9) << share("reserved", m.reserved)
                  << std::setw(9) << share("internal", m.internal) << std::setw(9)
                  << share("external", m.external) << std::setw(6) << share("free", m.free)
                  << std::setw(7) << share("wasted", m.wasted()) << std::setw(8)
                  << attn::quote(key + "_running", r.mean_running, 1) << std::setw(6)
                  << attn::quote(key + "_steps", std::to_string(r.steps)) << std::setw(8)
                  << attn::quote(key + "_evicted", std::to_string(r.preemptions)) << '\n';
        if (row.block == 16) results.push_back(r);
    }
    // The paged server's free memory: the margin its admission keeps while requests wait,
    // and the end of the trace, when nobody is left to come.
    const attn::TraceResult& paged = results[2];
    std::cout << std::setprecision(1) << "\npaged, block 16: the last request arrives at step "
              << attn::quote("last_arrival", std::to_string(paged.last_arrival))
              << ", the last admission is at step "
              << attn::quote("last_admission", std::to_string(paged.last_admission)) << " of "
              << paged.steps << "\n  free " << 100 * paged.shares.free << "% of the memory = "
              << attn::quote("paged16_free_waiting", 100 * paged.free_while_waiting, 1)
              << "% while requests waited + "
              << attn::quote("paged16_free_end", 100 * paged.free_at_end, 1)
              << "% once all were admitted\n  + "
              << 100 * (paged.shares.free - paged.free_while_waiting - paged.free_at_end)
              << "% earlier, with nobody waiting\n";
    std::cout << "paged, block 16 against max length: "
              << attn::quote("paged_over_max_length", paged.mean_running / results[0].mean_running,
                             1)
              << " times the sequences at once\n"
              << std::defaultfloat;
    // The figure: the first 1500 steps of the three block-16 rows.
    const std::size_t n = std::min<std::size_t>(1500, results[0].running.size());
    std::vector<double> steps(n);
    for (std::size_t i = 0; i < n; ++i) steps[i] = static_cast<double>(i);
    const auto head = [&](const std::vector<double>& v) {
        std::vector<double> out(n, 0.0);
        std::copy_n(v.begin(), std::min(n, v.size()), out.begin());
        return out;
    };
    attn::write_svg_line_plot(figures / "ch10_running.svg", steps,
                              {{"max length", head(results[0].running)},
                               {"max tokens", head(results[1].running)},
                               {"paged, block 16", head(results[2].running)}},
                              "Sequences decoding at once, same trace and memory", "decode step",
                              "sequences");
    std::cout << "Figure written to " << (figures / "ch10_running.svg").string() << '\n';
}

/// \image html ch10_running.svg "Sequences decoding at once, against the steps"
///
/// The contiguous reservations are mostly air: {{max_length_wasted}}% of the memory wasted
/// when each request reserves the whole context, {{max_tokens_wasted}}% when it reserves
/// prompt + max_tokens. Reserving the whole context holds 8 sequences in 16384 positions,
/// each using a few hundred; reserving prompt + max_tokens fits more, but most of each
/// reservation is still never written (internal fragmentation: the request stopped long
/// before its max_tokens) or not yet written (reserved), and the first-fit gaps left
/// between reservations of different sizes add external fragmentation. The paged cache
/// wastes only the unfilled end of each sequence's last block, on average half a block per
/// sequence ({{paged16_wasted}}% of the memory with blocks of 16), so the same memory holds
/// {{paged_over_max_length}} times the sequences of the whole-context reservation. Each
/// running sequence generates one token per step, so "running" is also the tokens per step,
/// and the trace is done in {{paged16_steps}} steps instead of {{max_length_steps}}; a step
/// of {{paged16_running}} sequences (on average) costs far less than as many steps of one
/// (Batched decoding, below, measures it). Block size 1 wastes nothing but makes the table
/// as long as the sequence; large blocks bring the waste back ({{paged64_wasted}}% with
/// blocks of 64).
///
/// The price of paging is the evictions: a sequence that grows when memory is full must
/// push another one out, whose tokens are then computed again. The server admits a request
/// only while a block per running sequence stays free for their growth, which keeps
/// evictions rare with blocks of 16 ({{paged16_evicted}} in the trace; with blocks of 1,
/// one position per sequence is too thin a margin: {{paged1_evicted}}). That margin is only
/// a small part of the "free" column: of its {{paged16_free}}%, {{paged16_free_waiting}}%
/// is free while requests wait. Most of the rest, {{paged16_free_end}}%, is the end of the
/// trace: the last request arrives at step {{last_arrival}}, the last admission (of a new
/// request or of an evicted one coming back) is at step {{last_admission}} of
/// {{paged16_steps}}, and after that the running sequences finish one by one and nobody
/// comes to take their blocks.
///
/// ## Shared prefixes
///
/// Many requests begin alike: the same system prompt, the same few-shot examples, or one
/// prompt sampled several times. Their keys and values for the common prefix are the same
/// numbers, so a paged cache stores them once: PagedKVCache::fork() makes a new sequence
/// whose block table is a copy of the parent's, each block gaining an owner, and nothing
/// is copied. A sequence that writes into a block it shares first copies it (copy on
/// write, in append_position() above); full shared blocks are never written again, so
/// only a partly filled last block is ever copied.
///
/// The program prefills a 100-token prefix once, forks it for 8 requests, appends each
/// request's own 12 tokens and decodes 20 more for each, all 8 in one batch; then does the
/// same with 8 separate sequences that each prefill the prefix themselves:
void show_shared_prefix() {
    attn::section(std::cout, "Shared prefixes");
    const attn::Llama model = small_llama(256);
    attn::Rng rng(12);
    const std::vector<std::size_t> prefix = random_tokens(100, 256, rng);
    std::vector<std::vector<std::size_t>> own(8);
    for (auto& t : own) t = random_tokens(12, 256, rng);
    const std::size_t block = 16;

    // Runs the 8 requests; with `share`, counts the forks that copied the prefix's last block.
    const auto run = [&](bool share, std::size_t* peak_blocks, std::size_t* copies) {
        PagedKVCache cache(cache_for(model.config(), block, 256));
        attn::BatchedLlama runner(model, cache);
        std::vector<PagedKVCache::SequenceId> ids;
        std::vector<std::vector<std::size_t>> first;
        std::size_t prefix_last = 0, prefix_blocks = 0;  // the prefix's last block, its place
        if (share) {
            const PagedKVCache::SequenceId root = cache.add_sequence();
            runner.step({root}, {prefix});
            prefix_blocks = cache.block_table(root).size();
            prefix_last = cache.block_table(root).back();
            for (std::size_t i = 0; i < own.size(); ++i) ids.push_back(cache.fork(root));
            cache.remove(root);  // the forks keep its blocks
            first = own;
        } else {
            for (const auto& t : own) {
                ids.push_back(cache.add_sequence());
                std::vector<std::size_t> whole = prefix;
                whole.insert(whole.end(), t.begin(), t.end());
                first.push_back(whole);
            }
        }
        Matrix logits = runner.step(ids, first);
        if (share)
            for (PagedKVCache::SequenceId id : ids)
                *copies += cache.block_table(id)[prefix_blocks - 1] != prefix_last;
        std::vector<Matrix> all{logits};
        for (int s = 0; s < 20; ++s) {
            std::vector<std::vector<std::size_t>> next;
            for (std::size_t i = 0; i < ids.size(); ++i)
                next.push_back({attn::greedy_token(xt::row(logits, i))});
            logits = runner.step(ids, next);
            all.push_back(logits);
        }
        *peak_blocks = 256 - cache.allocator().free_blocks();
        return all;
    };
    std::size_t shared_blocks = 0, separate_blocks = 0, copies = 0;
    const std::vector<Matrix> shared = run(true, &shared_blocks, &copies);
    const std::vector<Matrix> separate = run(false, &separate_blocks, &copies);
    float worst = 0.0f;
    for (std::size_t s = 0; s < shared.size(); ++s)
        worst = std::max(worst, static_cast<float>(xt::amax(xt::abs(shared[s] - separate[s]))()));
    std::cout << "8 requests of a 100-token prefix + 12 tokens of their own + 20 generated, blocks "
                 "of 16\n"
              << "  blocks in use, separate sequences: " << separate_blocks << '\n'
              << "  blocks in use, prefix shared:      " << shared_blocks << " ("
              << std::setprecision(0) << std::fixed
              << 100.0 * (1.0 -
                          static_cast<double>(shared_blocks) / static_cast<double>(separate_blocks))
              << "% less)\n"
              << "  the prefix's partly filled block: copied by "
              << attn::quote("prefix_copies", std::to_string(copies)) << " of the " << own.size()
              << " forks, kept by " << own.size() - copies << '\n'
              << std::defaultfloat
              << "  max |shared - separate| of every step's logits: " << std::setprecision(2)
              << worst << std::defaultfloat << '\n';
}

/// The prefix's 100 positions fill 6 full blocks and 4 rows of a seventh. The 6 full blocks
/// are stored once for the 8 requests; the seventh is copied by each request that writes
/// its first own token while others still share it ({{prefix_copies}} copies of 4 rows: by
/// the last request's turn, it is the block's only owner and writes into it), and
/// everything after is each request's own. The logits are the same as without sharing: the
/// forked sequences read the very numbers the separate ones computed.
///
/// ## Batched decoding
///
/// A decode step of one sequence multiplies a row vector by every weight matrix: each
/// weight is read from memory for two floating-point operations, and memory is what bounds
/// it (`make bench` measures how near chapter 08's decoder comes to the copy bandwidth). With B sequences, each
/// matrix meets a `[B, in]` matrix instead: the weights are read once for all B rows and
/// give 2B operations per number read. BatchedLlama::step packs the sequences' new tokens
/// into the rows of one matrix and runs chapter 08's attn::llama_block() on them, the same
/// block that decodes one sequence: one product per weight matrix for all the rows, and each
/// row attending over its own sequence's blocks through attn::PagedKV, the paged cache's side
/// of chapter 08's small cache interface. After its checks (every one before anything
/// changes, so that a refused step leaves the cache as it was), the step is one loop over
/// the model's layers:
///
/// \show batched_llama.cpp BatchedLlama::step PagedKV::store PagedKV::attend
///
/// The roofline model (Williams, Waterman and Patterson 2009) says how fast that can be. A
/// step must read its bytes (the weights, plus each sequence's cached keys and values) and
/// do its operations (2 per weight per token, plus attention), so it takes at least the
/// larger of bytes / bandwidth and flops / peak. For a model of W bytes of weights, N of
/// them multiplied per token, L layers of width d, and B sequences of T cached positions of
/// b bytes each, a step does this many operations per byte it reads:
///
/// \f[ I(B) = \frac{B\,(2N + 4LdT)}{W + B\,T\,b} \f]
///
/// At B = 1 this is {{intensity_b1}}, and this machine does {{machine_balance}} operations
/// in the time it reads a byte, so reading takes {{b1_read_over_compute}} times as long as
/// computing; as B grows the weights' bytes stay the same and the work grows, until I(B)
/// reaches the machine's ratio of peak to bandwidth and the compute side takes over.
/// Without the cache (T = 0) I(B) would be 2B operations per {{= 4 bytes}} of weight,
/// B/2; each sequence's keys and values add bytes that grow with B as the work does, and
/// move the bend to a larger B:
///
/// \show batched_llama.cpp decode_step_cost roofline_tokens_per_second
///
/// The program measures the two limits of this machine on one thread. A roof is a bound
/// only if nothing that runs here goes faster, so each is the faster of two measurements.
/// Reading as many bytes as the weights hold ({{weights_mb}} MB, from main memory or from a
/// cache large enough to keep them: {{l3_weights}}): a plain sum loop, and the packed kernel
/// below multiplying one row by a matrix that large. Computing: a large sgemm, and the
/// packed kernel on many rows of a product small enough to stay in cache, where arithmetic
/// alone limits it. Then it decodes B sequences of stories15M's shape (seeded random
/// weights, prompts of 32 to 95 tokens), three rounds of 8 steps, and reports the tokens
/// per second of the fastest round:
namespace {

// This machine's level-3 cache in bytes, from the C library or from Linux's sysfs; 0 when
// neither says.
std::size_t level3_cache_bytes() {
#ifdef _SC_LEVEL3_CACHE_SIZE
    if (const long n = sysconf(_SC_LEVEL3_CACHE_SIZE); n > 0) return static_cast<std::size_t>(n);
#endif
    for (int i = 0; i < 8; ++i) {
        const std::string dir = "/sys/devices/system/cpu/cpu0/cache/index" + std::to_string(i);
        int level = 0;
        std::string size;  // e.g. "32768K"
        if (!(std::ifstream(dir + "/level") >> level) || level != 3) continue;
        if (!(std::ifstream(dir + "/size") >> size) || size.empty()) return 0;
        const std::size_t unit = size.back() == 'K'   ? 1024
                                 : size.back() == 'M' ? 1024 * 1024
                                 : size.back() == 'G' ? 1024 * 1024 * 1024
                                                      : 1;
        try {
            return std::stoul(size) * unit;
        } catch (const std::exception&) {
            return 0;
        }
    }
    return 0;
}

// Where a model's weights of `bytes` bytes can live between steps, by this machine's
// level-3 cache.
std::string where_weights_live(std::size_t bytes) {
    const std::size_t l3 = level3_cache_bytes();
    if (l3 == 0) return "this machine does not report its level-3 cache";
    std::ostringstream s;
    s << "this machine reports a level-3 cache of " << l3 / (1024 * 1024) << " MiB, ";
    if (l3 >= bytes)
        s << "more than the weights, so they can stay in it between steps";
    else
        s << "less than the weights, so they come from main memory";
    return s.str();
}

std::string fixed(double value, int precision) {
    std::ostringstream s;
    s << std::fixed << std::setprecision(precision) << value;
    return s.str();
}

// Steps per timed round of the batched runs.
std::size_t steps_per_round(bool quick) {
    return quick ? 2 : 8;
}

// The seconds of the fastest of `rounds` runs of f.
double fastest(int rounds, const std::function<void()>& f) {
    double best = 1e30;
    for (int i = 0; i < rounds; ++i) {
        const auto t0 = std::chrono::steady_clock::now();
        f();
        best = std::min(best, seconds_since(t0));
    }
    return best;
}

// The roofline's two limits on one thread. A roof is a bound only if nothing that runs here
// goes faster, so each is the faster of two measurements: reading, by a plain sum loop
// (measure_machine) and by the packed kernel multiplying one row by a matrix as large as
// the weights; computing, by a large sgemm (measure_machine) and by the packed kernel on
// many rows of a product whose weights stay in cache, so that arithmetic alone limits it.
struct Roofs {
    double sum_loop_bytes = 0, kernel_bytes = 0;  // bytes per second
    double sgemm_flops = 0, kernel_flops = 0;     // operations per second
    std::size_t kernel_rows = 0;                  // the rows of the kernel's fastest product
    double bytes_per_second() const { return std::max(sum_loop_bytes, kernel_bytes); }
    double flops_per_second() const { return std::max(sgemm_flops, kernel_flops); }
};

// Each of the roofs' measurements, the faster of two runs of them.
Roofs faster(const Roofs& a, const Roofs& b) {
    Roofs r = a.kernel_flops >= b.kernel_flops ? a : b;  // with its kernel_rows
    r.sum_loop_bytes = std::max(a.sum_loop_bytes, b.sum_loop_bytes);
    r.kernel_bytes = std::max(a.kernel_bytes, b.kernel_bytes);
    r.sgemm_flops = std::max(a.sgemm_flops, b.sgemm_flops);
    return r;
}

Roofs measure_roofs(const attn::LlamaConfig& c, std::size_t weight_bytes) {
    const attn::MachineLimits limits = attn::measure_machine(weight_bytes);
    Roofs r;
    r.sum_loop_bytes = limits.bytes_per_second;
    r.sgemm_flops = limits.flops_per_second;
    {
        // One row times [out, dim], as many numbers as the weights: a decode step at B = 1.
        const std::size_t out = weight_bytes / (sizeof(float) * c.dim);
        const std::vector<float> w(out * c.dim, 0.5f), x(c.dim, 1.0f);
        const attn::PackedWeight packed = attn::pack_weight(w.data(), out, c.dim);
        std::vector<float> y(out);
        const double s = fastest(20, [&] { attn::matmul_packed(packed, x.data(), 1, y.data()); });
        r.kernel_bytes = static_cast<double>(packed.panels.size() * sizeof(float)) / s;
    }
    // The feed-forward's [hidden_dim, dim] weight, 4 * hidden_dim * dim bytes, stays in
    // cache from one call to the next.
    const std::vector<float> w(c.hidden_dim * c.dim, 0.5f);
    const attn::PackedWeight packed = attn::pack_weight(w.data(), c.hidden_dim, c.dim);
    for (std::size_t rows : {12, 24, 48}) {
        const std::vector<float> x(rows * c.dim, 1.0f);
        std::vector<float> y(rows * c.hidden_dim);
        constexpr int calls = 20;
        const double s = fastest(10,
                                 [&] {
                                     for (int i = 0; i < calls; ++i)
                                         attn::matmul_packed(packed, x.data(), rows, y.data());
                                 }) /
                         calls;
        const double flops = 2.0 * static_cast<double>(rows * c.hidden_dim * c.dim) / s;
        if (flops > r.kernel_flops) {
            r.kernel_flops = flops;
            r.kernel_rows = rows;
        }
    }
    return r;
}

}  // namespace

void show_batched(const std::filesystem::path& figures, bool quick) {
    attn::section(std::cout, "Batched decoding");
    attn::LlamaConfig c = attn::stories15m_config();
    attn::Rng rng(15);
    const attn::Llama model(c, attn::llama_random(c, rng));

    // First: the same tokens as chapter 08's decoder, one sequence at a time.
    const std::size_t B_check = quick ? 3 : 8, steps_check = quick ? 4 : 16;
    std::vector<std::vector<std::size_t>> prompts;
    for (std::size_t b = 0; b < B_check; ++b)
        prompts.push_back(random_tokens(5 + 7 * b, c.vocab_size, rng));
    std::vector<std::vector<std::size_t>> alone(B_check), together(B_check);
    for (std::size_t b = 0; b < B_check; ++b) {
        attn::CachedLlama one(model);
        Vector logits = xt::row(one.prefill(prompts[b]), prompts[b].size() - 1);
        for (std::size_t s = 0; s < steps_check; ++s) {
            alone[b].push_back(attn::greedy_token(logits));
            if (s + 1 < steps_check) logits = one.decode(alone[b].back());
        }
    }
    {
        PagedKVCache cache(cache_for(c, 16, 64));
        attn::BatchedLlama runner(model, cache);
        std::vector<PagedKVCache::SequenceId> ids;
        for (std::size_t b = 0; b < B_check; ++b) ids.push_back(cache.add_sequence());
        Matrix logits = runner.step(ids, prompts);
        for (std::size_t s = 0; s < steps_check; ++s) {
            std::vector<std::vector<std::size_t>> next;
            for (std::size_t b = 0; b < B_check; ++b) {
                together[b].push_back(attn::greedy_token(xt::row(logits, b)));
                next.push_back({together[b].back()});
            }
            if (s + 1 < steps_check) logits = runner.step(ids, next);
        }
    }
    std::cout << B_check << " sequences (prompts of 5 to " << 5 + 7 * (B_check - 1) << " tokens), "
              << steps_check
              << " greedy tokens: batched = one by one: " << (alone == together ? "yes" : "NO")
              << "\n\n";

    attn::use_one_blas_thread();
    attn::keep_freed_memory();  // chapter 09: a step reuses the last step's memory
    const std::size_t weight_bytes = attn::weight_bytes_per_token(c);
    // The roofs are measured before and after the runs, and the faster of each kept: the
    // machine is shared, and a bound measured while something else ran would be too low.
    const Roofs before = measure_roofs(c, weight_bytes);
    double one_sequence_tokens = 0;
    {
        // Chapter 08's decoder of one sequence, for comparison with B = 1.
        attn::CachedLlama one_sequence(model);
        one_sequence.prefill(random_tokens(64, c.vocab_size, rng));
        const auto t0 = std::chrono::steady_clock::now();
        for (std::size_t s = 0; s < 8; ++s) one_sequence.decode(1);
        one_sequence_tokens = 8.0 / seconds_since(t0);
    }
    const std::vector<std::size_t> sizes =
        quick ? std::vector<std::size_t>{1, 4}
              : std::vector<std::size_t>{1, 2, 4, 8, 12, 16, 24, 32};
    const std::size_t steps = steps_per_round(quick);
    struct Run {
        std::size_t B, context, kv_bytes;  // sequences, cached positions each, bytes each
        double seconds;                    // per step
    };
    std::vector<Run> runs;
    for (std::size_t B : sizes) {
        PagedKVCache cache(cache_for(c, 16, B * 9));
        attn::BatchedLlama runner(model, cache);
        std::vector<PagedKVCache::SequenceId> ids;
        std::vector<std::vector<std::size_t>> first, next;
        std::size_t context = 0;
        for (std::size_t b = 0; b < B; ++b) {
            ids.push_back(cache.add_sequence());
            first.push_back(random_tokens(32 + (b * 37) % 64, c.vocab_size, rng));
            next.push_back({1});
            context += first.back().size();
        }
        runner.step(ids, first);
        // The best of 3 rounds of `steps` steps: the machine is shared, and a round that
        // something else slowed down says nothing about the code.
        const double per_step = fastest(3,
                                        [&] {
                                            for (std::size_t s = 0; s < steps; ++s)
                                                runner.step(ids, next);
                                        }) /
                                static_cast<double>(steps);
        runs.push_back({B, context / B + 3 * steps / 2, cache.bytes_per_position(), per_step});
    }
    const Roofs roofs = faster(before, measure_roofs(c, weight_bytes));
    const double bandwidth = roofs.bytes_per_second(), peak = roofs.flops_per_second();
    std::cout << std::fixed << std::setprecision(1)
              << "this machine, one thread; each roof is the faster of two measurements:\n"
              << "  reading " << static_cast<double>(weight_bytes) / 1e6
              << " MB, the weights' size: a sum loop "
              << attn::quote("sum_loop_gbs", roofs.sum_loop_bytes / 1e9, 1)
              << " GB/s, the packed kernel with one\n    row "
              << attn::quote("kernel_read_gbs", roofs.kernel_bytes / 1e9, 1)
              << " GB/s; the bandwidth roof: " << attn::quote("bandwidth_gbs", bandwidth / 1e9, 1)
              << " GB/s\n  computing: a 1024^3 sgemm "
              << attn::quote("sgemm_gflops", roofs.sgemm_flops / 1e9, 1)
              << " GFLOP/s, the packed kernel on " << roofs.kernel_rows
              << " rows times the\n    feed-forward's [" << c.hidden_dim << ", " << c.dim
              << "] weight " << attn::quote("kernel_gflops", roofs.kernel_flops / 1e9, 1)
              << " GFLOP/s; the compute roof: " << attn::quote("peak_gflops", peak / 1e9, 1)
              << " GFLOP/s\n"
              << attn::wrap(attn::quote("l3_weights", where_weights_live(weight_bytes)), 90)
              << '\n';
    attn::quote("bandwidth_roof_from", roofs.kernel_bytes > roofs.sum_loop_bytes
                                           ? "the packed kernel's reading speed"
                                           : "the sum loop's reading speed");
    attn::quote("compute_roof_from", roofs.kernel_flops > roofs.sgemm_flops
                                         ? "the packed kernel's speed on a product in cache"
                                         : "the sgemm's speed");
    // The roofline of sequences of `cached` positions (the runs' average), as a function of
    // a real-valued B: a step reads W bytes of weights and B * kv of cache, and does B * f
    // operations. Where B * f / peak = (W + B * kv) / bandwidth the two roofs cross.
    const std::size_t cached = 64 + 3 * steps / 2;
    const std::size_t kv_bytes = PagedKVCache(cache_for(c, 16, 1)).bytes_per_position();
    const attn::StepCost one = attn::decode_step_cost(c, 1, cached, kv_bytes),
                         two = attn::decode_step_cost(c, 2, cached, kv_bytes);
    const double kv = two.bytes - one.bytes, W = one.bytes - kv, f = one.flops;
    const auto intensity = [&](double B) { return B * f / (W + B * kv); };
    const auto bandwidth_roof = [&](double B) { return B * bandwidth / (W + B * kv); };
    const double compute_roof = peak / f;  // tokens per second, whatever B
    const double balance = peak / bandwidth;
    const double slack = f / peak - kv / bandwidth;  // <= 0: the cache's bytes grow as fast
    const double bend = slack > 0 ? W / bandwidth / slack : 0.0;  // 0: they never cross
    std::cout << "operations per byte read, "
              << attn::quote("cached_positions", std::to_string(cached))
              << " cached positions each: I(1) = " << attn::quote("intensity_b1", intensity(1), 2)
              << "; peak / bandwidth = " << attn::quote("machine_balance", balance, 2)
              << "\n  so at B = 1 reading takes "
              << attn::quote("b1_read_over_compute", balance / intensity(1), 1)
              << " times as long as computing\n";
    if (bend > 0) {
        std::cout << "the roofs cross at B = " << attn::quote("bend", bend, 1)
                  << ", where I(B) = peak / bandwidth (B/2 alone: B = "
                  << attn::quote("bend_without_cache", 2 * balance, 1) << ")\n";
    } else {
        std::cout << "the roofs never cross: each sequence's cache adds bytes as fast as work\n";
    }
    std::cout << "chapter 08's one-sequence decoder: " << std::setprecision(0)
              << one_sequence_tokens << " tokens/s\n\n";

    std::cout << "   B   ms/step   tokens/s   x B=1   roofline tokens/s   measured/roofline\n";
    std::vector<double> xs, measured;
    double base = 0, low = 1e30, high = 0, highest = 0, best_gain = 0;
    std::size_t best_b = 1, highest_b = 1;
    for (const Run& run : runs) {
        const std::size_t B = run.B;
        const double tokens = static_cast<double>(B) / run.seconds;
        if (B == 1) base = tokens;
        const attn::StepCost cost = attn::decode_step_cost(c, B, run.context, run.kv_bytes);
        const double roof = attn::roofline_tokens_per_second(cost, B, bandwidth, peak);
        const double gain = tokens / base, share = tokens / roof;
        if (bend > 0 && static_cast<double>(B) > bend) {
            low = std::min(low, share);
            high = std::max(high, share);
        }
        if (share > highest) {
            highest = share;
            highest_b = B;
        }
        if (gain > best_gain) {
            best_gain = gain;
            best_b = B;
        }
        std::cout << std::setw(4) << B << std::setw(10) << std::setprecision(2) << 1e3 * run.seconds
                  << std::setw(11) << std::setprecision(0) << tokens << std::setw(8)
                  << (B == 16 ? attn::quote("b16_gain", gain, 1) : fixed(gain, 1)) << std::setw(20)
                  << std::setprecision(0) << roof << std::setw(20)
                  << (B == 1 ? attn::quote("b1_roof_share", share, 2) : fixed(share, 2)) << '\n';
        xs.push_back(static_cast<double>(B));
        measured.push_back(tokens);
    }
    std::cout << "the largest gain: " << attn::quote("best_gain", best_gain, 1) << " times B = 1's"
              << " tokens per second, at B = " << attn::quote("best_gain_b", std::to_string(best_b))
              << '\n';
    // How the measurements sit against the roofline, in a sentence for the page.
    std::string verdict;
    if (highest <= 1.0) {
        verdict =
            "Every measured point lies under the roofline, as measurements under a bound must";
        verdict +=
            high > 0 ? "; past the bend they reach " +
                           (low == high ? fixed(low, 2) : fixed(low, 2) + " to " + fixed(high, 2)) +
                           " of it, because the step's products read their weights from "
                           "farther away than the measuring product, whose weight stayed "
                           "in cache, and attention and the small per-token loops "
                           "(RMSNorm, RoPE, SiLU) beside them reach neither roof."
                     : ".";
    } else {
        verdict = "At B = " + std::to_string(highest_b) + " the measured speed is " +
                  fixed(highest, 2) +
                  " times the roofline's: the roofs are this machine's fastest measured loops, "
                  "and the decode step, with its weights in their regular order, read or "
                  "computed faster than they did. A roofline is a model, not a law.";
    }
    std::cout << attn::wrap(attn::quote("roof_verdict", verdict), 90) << '\n' << std::defaultfloat;

    // The figure: the roofline from its formula, the two roofs, the bend, the measurements.
    const double B_max = std::max(xs.back(), std::min(2 * bend, 512.0));
    std::vector<double> fine, rising, flat, lower;
    for (int i = 0; i <= 160; ++i) {
        const double B = std::pow(B_max, i / 160.0);
        if (!fine.empty() && fine.back() < bend && B > bend) fine.push_back(bend);
        fine.push_back(B);
    }
    for (double B : fine) {
        rising.push_back(bandwidth_roof(B));
        flat.push_back(compute_roof);
        lower.push_back(std::min(bandwidth_roof(B), compute_roof));
    }
    attn::PlotOptions axes;
    axes.log_x = axes.log_y = true;
    if (bend > 0 && bend <= B_max)
        axes.marks.push_back({bend, compute_roof, "bend: B = " + fixed(bend, 1)});
    attn::write_svg_line_plot(figures / "ch10_batched.svg", xs,
                              {{"bandwidth roof", rising, attn::SeriesStyle::dashed, fine},
                               {"compute roof", flat, attn::SeriesStyle::dashed, fine},
                               {"roofline: the lower roof", lower, attn::SeriesStyle::line, fine},
                               {"measured", measured, attn::SeriesStyle::points}},
                              "Tokens per second against the batch, stories15M's shape, one thread",
                              "sequences decoded together, B (log scale)",
                              "tokens per second (log scale)", axes);
    std::cout << "Figure written to " << (figures / "ch10_batched.svg").string() << '\n';
}

/// \image html ch10_batched.svg "Tokens per second against the batch size, with the roofline"
///
/// The batched tokens are chapter 08's tokens, and a step of many sequences costs far less
/// than as many steps of one. The figure draws the roofline from its formula, for
/// sequences of {{cached_positions}} cached positions (the runs' average): the bandwidth
/// roof, B times the bandwidth over a step's bytes, rises with B (each extra sequence nearly
/// free); the compute roof, the peak over one token's operations, is flat; the roofline is
/// the lower of the two, and bends where they cross, at B = {{bend}}, where I(B) reaches the
/// machine's {{machine_balance}} operations per byte (B/2 alone would have put it at
/// B = {{bend_without_cache}}). The bandwidth roof here is {{bandwidth_roof_from}},
/// {{bandwidth_gbs}} GB/s; the compute roof is {{compute_roof_from}}, {{peak_gflops}}
/// GFLOP/s (the sgemm managed {{sgemm_gflops}}). {{roof_verdict}}
///
/// How much batching gains depends on where the weights live: where they come from main
/// memory, one sequence waits for them and the gain is large; where a cache holds them, one
/// sequence already reads them at cache speed and the gain is smaller. Here {{l3_weights}},
/// and B = 16 decodes {{b16_gain}} times the tokens per second of B = 1 (the largest gain,
/// {{best_gain}} times, is at B = {{best_gain_b}}). The kernel below also counts: with
/// AVX-512 one pass over the weights holds at most 12 rows of x in registers, so B = 16
/// costs two passes, as B = 24 does (B = 13 runs as passes of 7 and 6 rows); with AVX2
/// alone a pass holds 6 rows, and B = 16 costs three.
///
/// One more idea serves a thin batch. A BLAS sgemm copies ("packs") its operands into
/// cache-sized panels inside every call, a second pass over all the weights that is paid
/// again at every step, though the weights never change. So BatchedLlama packs them once,
/// at construction, and multiplies with its own kernel, under attn::project_packed(), the
/// thin-batch variant of the book's one product attn::project() (a step of more than 64
/// rows, a long prompt, still goes through BLAS):
///
/// \show batched_llama.cpp project_packed
/// \show paged_kernels.cpp pack_weight pass matmul_packed
///
/// `make bench` (bench_serving) measures decode steps of B = 1, 4, 16 and 32 sequences with
/// Google Benchmark, and the cost of reading through a block table against chapter 08's
/// contiguous attention.
///
/// ## A server: the scheduler runs the model
///
/// The simulated server above only counted positions. attn::serve() gives the same
/// scheduler a real model: each step it asks Scheduler::plan() which sequences run, gives
/// an admitted one its prompt (and, after an eviction, the tokens it had generated, computed
/// again) and a running one its last token, runs them all in one BatchedLlama::step(), and
/// reports each sequence's greedy token back:
///
/// \show batched_llama.cpp serve
///
/// The program sends {{serve_requests}} requests to the small Llama (prompts of 3 to 20
/// tokens, 4 to 24 tokens to generate each, a few arriving each step) over a pool of
/// {{serve_blocks}} blocks of 4 positions, too small for all of them at once, so that the
/// scheduler must make some wait and evict others. Then it decodes each request alone with
/// chapter 08's CachedLlama and compares the tokens:
namespace {

void show_server() {
    attn::section(std::cout, "A server: the scheduler runs the model");
    const attn::Llama model = small_llama(64);
    attn::Rng rng(12);
    std::vector<attn::ServeRequest> requests(32);
    std::size_t arrival = 0, tokens = 0;
    for (std::size_t i = 0; i < requests.size(); ++i) {
        attn::ServeRequest& r = requests[i];
        arrival += i % 3 == 0 ? 1 : 0;  // three arrivals a step
        r.arrival = arrival;
        r.prompt = random_tokens(3 + static_cast<std::size_t>(rng.uniform() * 18.0f), 256, rng);
        r.max_new = 4 + static_cast<std::size_t>(rng.uniform() * 21.0f);
        tokens += r.prompt.size() + r.max_new;
    }
    const std::size_t n_blocks = 30;
    PagedKVCache cache(cache_for(model.config(), 4, n_blocks));
    attn::BatchedLlama runner(model, cache);
    const attn::ServeResult served = attn::serve(runner, requests);
    std::size_t same = 0, generated = 0;
    for (std::size_t i = 0; i < requests.size(); ++i) {
        // Alone: chapter 08's cached decoder, greedy.
        attn::CachedLlama alone(model);
        Matrix logits = alone.prefill(requests[i].prompt);
        std::vector<std::size_t> out;
        while (out.size() < requests[i].max_new) {
            out.push_back(attn::greedy_token(xt::row(logits, logits.shape(0) - 1)));
            if (out.size() < requests[i].max_new) logits = alone.forward({out.back()});
        }
        same += out == served.generated[i];
        generated += out.size();
    }
    std::cout << attn::quote("serve_requests", std::to_string(requests.size())) << " requests, "
              << tokens << " tokens of prompt and output; the pool holds "
              << attn::quote("serve_blocks", std::to_string(n_blocks))
              << " blocks of 4 = " << n_blocks * 4 << " positions\n"
              << "  model steps: " << attn::quote("serve_steps", std::to_string(served.steps))
              << ", at most " << attn::quote("serve_most", std::to_string(served.most_running))
              << " sequences in one step\n"
              << "  evictions: " << attn::quote("serve_evictions", std::to_string(served.evictions))
              << ", rows run: " << served.rows << " for " << tokens - requests.size()
              << " tokens that enter the cache (the difference is recomputed)\n"
              << "  requests whose " << generated << " tokens equal their decoding alone: "
              << attn::quote("serve_same", std::to_string(same)) << " of " << requests.size()
              << '\n';
    if (same != requests.size())
        throw std::runtime_error("served tokens differ from decoding alone");
    if (cache.tables().sequences().size() != 0 ||
        cache.allocator().free_blocks() != cache.allocator().n_blocks())
        throw std::runtime_error("the server left blocks in the pool");
}

}  // namespace

/// Every request gets the tokens it gets alone ({{serve_same}} of {{serve_requests}}), in
/// {{serve_steps}} steps of up to {{serve_most}} sequences, with {{serve_evictions}}
/// evictions: an evicted sequence's tokens were computed again, and came out the same. The
/// scheduler and the model never talk to each other: the scheduler decides from the block
/// tables alone, the model takes whatever rows it is given. The program checks, too, that
/// the server leaves every block of the pool free when the last request is done.
///
/// ## 8-bit keys and values
///
/// The cache can also be made smaller number by number. Symmetric int8 quantisation keeps
/// each row of d_head numbers as integers in [-127, 127] and one float, its scale
/// \f$s = \max_i |x_i| / 127\f$: \f$x_i \approx s\,q_i\f$, within s/2. The scale here is per
/// position and head, not per block and head: a row is written once, when its token is
/// decoded, and never again, so its scale is known when it is stored; a scale per block
/// would have to be fixed before the block's later tokens arrive, or the earlier rows be
/// quantised again (and rounded twice) when a larger number comes. It costs {{= 4 bytes}}
/// (a float) per 48 numbers at stories15M's head size. A row is stored as its integers and
/// its scale:
///
/// \show paged_cache.cpp quantize_row Int8Storage::write
///
/// Attention multiplies the query by the integers and the score by the key's scale once,
/// and weights each value row by its probability times the value's scale: the second
/// attend_paged() of the paged cache section, the one over an Int8Head.
///
/// The program decodes 256 greedy tokens with stories15M's shape (seeded random weights,
/// context 512) with a float32 cache and an int8 cache, feeding both the float run's tokens,
/// and counts the steps whose greedy token is the same; then lets the int8 run choose its own
/// tokens and finds where it first departs:
void show_int8(const std::optional<attn::Llama>& checkpoint, bool quick) {
    attn::section(std::cout, "8-bit keys and values");
    attn::LlamaConfig c = attn::stories15m_config();
    c.seq_len = 512;
    attn::Rng rng(16);
    const attn::Llama random_model(c, attn::llama_random(c, rng));
    const attn::Llama& model = checkpoint ? *checkpoint : random_model;
    const attn::LlamaConfig& mc = model.config();
    const std::size_t prompt_length = std::min<std::size_t>(8, mc.seq_len / 2);
    const std::size_t steps = std::min<std::size_t>(quick ? 32 : 256, mc.seq_len - prompt_length);
    std::cout << (checkpoint ? "the checkpoint's model" : "stories15M's shape, random weights")
              << ", " << steps << " greedy steps after an " << prompt_length << "-token prompt\n";
    const double
        f32_bytes = static_cast<double>(PagedKVCache(cache_for(mc, 16, 1)).bytes_per_position()),
        i8_bytes = static_cast<double>(
            PagedKVCache(cache_for(mc, 16, 1, attn::KVPrecision::int8)).bytes_per_position()),
        f16_bytes =
            static_cast<double>(2 * mc.n_layers * mc.n_kv_heads * (mc.dim / mc.n_heads) * 2);
    std::cout << std::fixed << std::setprecision(0)
              << "  bytes per position, float32: " << f32_bytes
              << "\n  bytes per position, int8   : " << i8_bytes << ", "
              << attn::quote("int8_vs_float32", f32_bytes / i8_bytes, 1)
              << " times smaller than float32\n  bytes per position, fp16   : " << f16_bytes
              << " (for comparison), " << attn::quote("int8_vs_fp16", f16_bytes / i8_bytes, 1)
              << " times int8's\n"
              << std::defaultfloat;

    const std::vector<std::size_t> prompt = random_tokens(prompt_length, mc.vocab_size, rng);
    PagedKVCache f32(cache_for(mc, 16, attn::blocks_for(mc.seq_len, 16)));
    PagedKVCache i8(cache_for(mc, 16, attn::blocks_for(mc.seq_len, 16), attn::KVPrecision::int8));
    attn::BatchedLlama run_f32(model, f32), run_i8(model, i8);
    const auto a = f32.add_sequence(), b = i8.add_sequence();
    Matrix lf = run_f32.step({a}, {prompt}), li = run_i8.step({b}, {prompt});
    std::size_t same = 0;
    double worst = 0, sum = 0, range = 0;
    std::vector<std::size_t> tokens;
    for (std::size_t s = 0; s < steps; ++s) {
        const Vector vf = xt::row(lf, 0), vi = xt::row(li, 0);
        const std::size_t tf = attn::greedy_token(vf), ti = attn::greedy_token(vi);
        same += tf == ti;
        const double err = xt::amax(xt::abs(vf - vi))();
        worst = std::max(worst, err);
        sum += err;
        range = std::max(range, static_cast<double>(xt::amax(xt::abs(vf))()));
        tokens.push_back(tf);
        if (s + 1 < steps) {
            lf = run_f32.step({a}, {{tf}});
            li = run_i8.step({b}, {{tf}});  // the float run's token: the same context
        }
    }
    // Free running: the int8 cache chooses its own tokens.
    PagedKVCache free_cache(
        cache_for(mc, 16, attn::blocks_for(mc.seq_len, 16), attn::KVPrecision::int8));
    attn::BatchedLlama run_free(model, free_cache);
    const auto f = free_cache.add_sequence();
    Matrix l = run_free.step({f}, {prompt});
    std::size_t departs = steps;
    for (std::size_t s = 0; s < steps; ++s) {
        const std::size_t t = attn::greedy_token(xt::row(l, 0));
        if (t != tokens[s]) {
            departs = s;
            break;
        }
        if (s + 1 < steps) l = run_free.step({f}, {{t}});
    }
    std::cout << "  same greedy token as the float32 cache: "
              << attn::quote("int8_same", std::to_string(same)) << " of "
              << attn::quote("int8_steps", std::to_string(steps)) << " steps\n  logit error: max "
              << std::setprecision(2) << worst << ", mean " << sum / static_cast<double>(steps)
              << ", largest logit " << range << ": at most "
              << attn::quote("int8_error_share", 100 * worst / range, 2)
              << "% of it\n  free-running int8 tokens: "
              << attn::quote("int8_departs",
                             departs == steps
                                 ? "the same as float32's throughout"
                                 : "the same as float32's until step " + std::to_string(departs))
              << std::defaultfloat << '\n';
}

/// The int8 cache is {{int8_vs_float32}} times smaller than float32 ({{int8_vs_fp16}} times
/// smaller than fp16), and its logits move by at most {{int8_error_share}}% of the largest
/// one. A greedy token changes only where the two best logits were nearly tied, and once
/// one token differs the two texts go their own ways, which is why the free-running
/// comparison is the harsher one: here {{int8_same}} of {{int8_steps}} greedy tokens are
/// the same, and the free-running int8 tokens are {{int8_departs}}. Random weights give
/// flat distributions with many near-ties; run `--checkpoint stories15M.bin` (chapter 08
/// says where to get it) for that trained model's figures.
///
/// ### On the model the book trained
///
/// A model whose weights have learned something is the fairer test, and the book has one
/// that needs no download: chapter 09's Llama, which learned subject-verb agreement. The
/// program trains it again here (chapter 09's seeded {{train_steps}} steps give the same
/// weights, in {{train_seconds}} seconds on this machine) and serves it: every held-out
/// sentence goes through the batched decoder of this chapter, 64 sentences a step, over a
/// float32 and an int8 paged cache. attn::batched_logits() feeds each sentence its own next
/// word at every step (teacher forcing), so the logits at every position can be compared:
///
/// \show batched_llama.cpp batched_logits
///
/// At every position the program compares the greedy next word, the logits, the loss, and
/// whether the verb still agrees with its subject. Its seq_len of 16 holds one sentence, so
/// the 256 steps become every position of the {{trained_sentences}} held-out sentences,
/// each after the true words before it; and the float32 logits are compared with chapter
/// 08's Llama::logits() of each sentence alone (the program stops if they differ by more
/// than 10^-3): batching and paging change nothing but rounding.
void show_int8_trained(bool quick) {
    const attn::Language language;
    attn::Rng rng(20);  // chapter 09's split: these sentences were never trained on
    const attn::LanguageSplit split = attn::split_sentences(language, 0.2, rng);
    const std::size_t steps = quick ? 60 : attn::agreement_steps;
    const auto t0 = std::chrono::steady_clock::now();
    const attn::Llama model =
        attn::to_llama(attn::train_agreement_llama(language, split.train, steps));
    const double train_seconds = seconds_since(t0);
    const attn::LlamaConfig& c = model.config();
    const std::size_t batch = 64, d_head = c.dim / c.n_heads;
    const auto cache_of = [&](attn::KVPrecision p) {
        return PagedKVCache(
            {c.n_layers, c.n_kv_heads, d_head, 16, batch * attn::blocks_for(c.seq_len, 16), p});
    };
    PagedKVCache f32 = cache_of(attn::KVPrecision::float32), i8 = cache_of(attn::KVPrecision::int8);
    attn::BatchedLlama on_f32(model, f32), on_i8(model, i8);
    std::vector<std::vector<std::size_t>> sentences;
    for (const attn::Sentence& s : split.held_out)
        sentences.push_back(attn::sentence_sequence(language, s).inputs);
    const std::vector<Matrix> all_f32 = attn::batched_logits(on_f32, f32, sentences, batch),
                              all_i8 = attn::batched_logits(on_i8, i8, sentences, batch);
    // evaluate() asks for the sentences' logits in order: these, already computed.
    const auto in_order = [](const std::vector<Matrix>& all) {
        return [&all, next = std::size_t{0}](const std::vector<std::size_t>&) mutable {
            return all[next++];
        };
    };
    const attn::LogitsOf with_f32 = in_order(all_f32), with_i8 = in_order(all_i8);
    std::size_t positions = 0, same = 0;
    double worst = 0, sum = 0, range = 0, against_llama = 0;
    for (std::size_t i = 0; i < sentences.size(); ++i) {
        const Matrix &lf = all_f32[i], &li = all_i8[i];
        against_llama =
            std::max(against_llama,
                     static_cast<double>(xt::amax(xt::abs(lf - model.logits(sentences[i])))()));
        for (std::size_t p = 0; p < sentences[i].size(); ++p) {
            const Vector vf = xt::row(lf, p), vi = xt::row(li, p);
            same += attn::greedy_token(vf) == attn::greedy_token(vi);
            const double err = xt::amax(xt::abs(vf - vi))();
            worst = std::max(worst, err);
            sum += err;
            range = std::max(range, static_cast<double>(xt::amax(xt::abs(vf))()));
            ++positions;
        }
    }
    const attn::Agreement af = attn::evaluate(with_f32, language, split.held_out),
                          ai = attn::evaluate(with_i8, language, split.held_out);
    std::cout << "\nchapter 09's trained model ("
              << attn::quote("train_steps", std::to_string(steps)) << " steps, trained here in "
              << attn::quote("train_seconds", train_seconds, 1) << " s), "
              << attn::quote("trained_sentences", std::to_string(split.held_out.size()))
              << " held-out sentences,\n  " << positions << " positions\n"
              << "  bytes per position, float32: " << f32.bytes_per_position()
              << ", int8: " << i8.bytes_per_position() << " (heads of " << d_head
              << " numbers,\n  a 4-byte scale each): "
              << attn::quote("trained_int8_vs_float32",
                             static_cast<double>(f32.bytes_per_position()) /
                                 static_cast<double>(i8.bytes_per_position()),
                             1)
              << " times smaller\n"
              << "  same greedy token as the float32 cache: " << same << " of " << positions
              << " positions\n"
              << std::setprecision(2) << "  logit error: max " << worst << ", mean "
              << sum / static_cast<double>(positions) << ", largest logit " << range << ": at most "
              << attn::quote("trained_error_share", 100 * worst / range, 2) << "% of it\n"
              << std::fixed << std::setprecision(4) << "  held-out loss per token: float32 "
              << af.loss << ", int8 " << ai.loss << '\n';
    if (quick) {
        // 60 steps teach the model little: its agreement would read as a failure of int8.
        std::cout << "  (--quick: after " << steps << " steps the model is barely trained; "
                  << "these figures are a smoke test\n  of the int8 path, not a measure of it)\n";
    } else {
        std::cout << std::setprecision(1) << "  verbs that agree: float32 " << 100.0 * af.accuracy()
                  << "%, int8 " << 100.0 * ai.accuracy()
                  << "% (attractor sentences: " << 100.0 * af.attractor_accuracy() << "% and "
                  << 100.0 * ai.attractor_accuracy() << "%)\n";
        // What the rounding changed, for the page.
        const std::string words = same == positions
                                      ? "no greedy word"
                                      : "the greedy word at " + std::to_string(positions - same) +
                                            " of " + std::to_string(positions) + " positions";
        const std::string verbs =
            af.accuracy() == ai.accuracy()
                ? (same == positions ? "and no verb" : "and not the share of verbs that agree")
                : "and the verbs that agree from " + fixed(100.0 * af.accuracy(), 1) + "% to " +
                      fixed(100.0 * ai.accuracy(), 1) + "%";
        std::string line = attn::wrap(
            "the int8 rounding " + attn::quote("trained_changes", "changes " + words + " " + verbs),
            86);
        for (std::size_t at = 0; (at = line.find('\n', at)) != std::string::npos; at += 3)
            line.replace(at, 1, "\n  ");
        std::cout << "  " << line << '\n';
    }
    std::cout
        << std::defaultfloat << std::setprecision(2)
        << "  the float32 cache, batched, against chapter 08's Llama::logits of each sentence\n"
        << "  alone: max difference " << against_llama << std::defaultfloat << std::setprecision(6)
        << '\n';
    if (!(against_llama < 1e-3))
        throw std::runtime_error("the batched, paged float32 logits differ from Llama::logits");
}

/// With heads of only 8 numbers the scale costs a third of an int8 row, so this model's
/// cache shrinks {{trained_int8_vs_float32}} times, not {{int8_vs_float32}}. Its logits are
/// sharp (a trained model is sure of most of its words), so the rounding, at most
/// {{trained_error_share}}% of the largest logit, {{trained_changes}}.
///
/// ## Bad input
///
/// A server runs for days with thousands of sequences: a mistake about one of them must be
/// an error that names it, and must leave the others alone. The program tries each
/// mistake, prints the message, and checks that another sequence's cache is unchanged:
/// its block table, its length, and every key and value it holds, in every layer and head.
void show_bad_input() {
    attn::section(std::cout, "Bad input");
    const attn::Llama model = small_llama(64);
    PagedKVCache cache(cache_for(model.config(), 4, 8));
    attn::BatchedLlama runner(model, cache);
    const PagedKVCache::SequenceId kept = cache.add_sequence(), other = cache.add_sequence();
    attn::Rng rng(17);
    runner.step({kept, other}, {random_tokens(10, 256, rng), random_tokens(3, 256, rng)});
    // Every key and value of the kept sequence, layer by layer, head by head, position by
    // position.
    const auto contents = [&] {
        std::vector<float> all;
        const attn::LlamaConfig& c = model.config();
        for (std::size_t l = 0; l < c.n_layers; ++l)
            for (std::size_t h = 0; h < c.n_kv_heads; ++h)
                for (std::size_t p = 0; p < cache.length(kept); ++p)
                    for (const std::vector<float>& row :
                         {cache.key(l, kept, h, p), cache.value(l, kept, h, p)})
                        all.insert(all.end(), row.begin(), row.end());
        return all;
    };
    const std::vector<float> before = contents();
    const std::vector<std::size_t> table = cache.block_table(kept);
    const auto attempt = [&](const char* what, const std::function<void()>& f) {
        try {
            f();
            std::cout << "  " << what << ": accepted (a bug)\n";
        } catch (const std::exception& e) {
            // The message, broken into lines that fit the page, indented under its name.
            std::string message = attn::wrap(e.what(), 86);
            for (std::size_t at = 0; (at = message.find('\n', at)) != std::string::npos; at += 5)
                message.replace(at, 1, "\n    ");
            std::cout << "  " << what << ":\n    " << message << '\n';
        }
    };
    attempt("a request longer than the memory can ever hold",
            [&] { runner.step({other}, {random_tokens(40, 256, rng)}); });
    attempt("a block size of 0", [&] { PagedKVCache bad(cache_for(model.config(), 0, 8)); });
    attempt("a block freed twice", [&] {
        attn::BlockAllocator pool(4);
        const std::size_t blk = pool.allocate();
        pool.release(blk);
        pool.release(blk);
    });
    attempt("a sequence that does not exist", [&] { runner.step({kept, 7}, {{1}, {2}}); });
    attempt("a simulated request that can never fit", [&] {
        attn::simulate_serving({{0, 1500, 10, 500}}, 1024, attn::Allocation::max_tokens);
    });
    const bool same = contents() == before && cache.block_table(kept) == table &&
                      cache.length(kept) == 10 && cache.length(other) == 3;
    std::cout << "  sequence " << kept
              << "'s cache after all this: " << (same ? "unchanged" : "CHANGED") << '\n';
}

/// The step checks everything before it appends a position, so a refused step leaves
/// every sequence as it was, even the ones named in the same call.
///
/// ## The program
///
/// The entry point runs the sections above; `--quick` runs fewer sizes and steps (the test
/// suite and the sanitizers use it), `--checkpoint FILE` runs the int8 comparison on a
/// llama2.c checkpoint.
constexpr const char* description =
    "Serving many sequences: a paged KV cache, a simulated serving trace, shared prefixes,\n"
    "batched decoding against the roofline, and 8-bit keys and values.";

int main(int argc, char** argv) {
    std::vector<attn::ChapterOption> options = {
        {"quick", "yes|no", "fewer batch sizes and steps (for tests)", "no", false},
        {"checkpoint", "FILE", "a llama2.c checkpoint for the int8 comparison", "", false}};
    return attn::run_chapter(argc, argv, description, options,
                             [&](const std::filesystem::path& figures) {
                                 const bool quick = options[0].value == "yes";
                                 std::optional<attn::Llama> checkpoint;
                                 if (options[1].given)
                                     checkpoint.emplace(attn::read_checkpoint(options[1].value));
                                 show_paged_cache(figures);
                                 show_trace(figures);
                                 show_shared_prefix();
                                 show_batched(figures, quick);
                                 show_server();
                                 show_int8(checkpoint, quick);
                                 show_int8_trained(quick);
                                 show_bad_input();
                             });
}

/// ## What comes next
///
/// The pieces of a server on one machine are now all in the book: attention (chapters
/// 01-04), the model (05, 08), its cache (06), fast kernels (07), training (09) and serving
/// many readers at once (10). Production systems add more of the same ideas: prefill split
/// into chunks that share steps with decoding, speculative decoding, and kernels that read
/// int8 and fp8 caches on GPUs. Chapter 11 takes the model beyond one machine: its weights,
/// its cache and a long prompt's attention split across processes that send each other
/// messages.
