// Chapter 10's own code: the paged cache gives chapter 08's logits for every block size, a
// batch gives each sequence the logits it has alone, forks share blocks and copy on write,
// int8 rows stay within half a scale, the serving simulation accounts for all its memory, the
// scheduler admits, waits and evicts as it says, serve() gives every request its tokens alone,
// and bad input is refused without touching any other sequence.
#include "chapters/10_serving/batched_llama.hpp"
#include "chapters/10_serving/paged_cache.hpp"
#include "chapters/10_serving/paged_kernels.hpp"
#include "chapters/10_serving/scheduler.hpp"
#include "chapters/10_serving/serving_trace.hpp"

#include "common/random.hpp"
#include "matchers.hpp"

#include <xtensor/xbuilder.hpp>
#include <xtensor/xview.hpp>

#include <cmath>
#include <limits>

using attn::Matrix;
using attn::PagedKVCache;
using attn::test::IsClose;
using Catch::Matchers::Contains;

namespace {

attn::Llama small_llama(std::size_t n_kv_heads) {
    attn::LlamaConfig c;
    c.dim = 32;
    c.hidden_dim = 48;
    c.n_layers = 2;
    c.n_heads = 4;
    c.n_kv_heads = n_kv_heads;
    c.vocab_size = 50;
    c.seq_len = 40;
    attn::Rng rng(3);
    return attn::Llama(c, attn::llama_random(c, rng));
}

attn::PagedCacheConfig cache_for(const attn::Llama& m, std::size_t block, std::size_t blocks,
                                 attn::KVPrecision p = attn::KVPrecision::float32) {
    const attn::LlamaConfig& c = m.config();
    return {c.n_layers, c.n_kv_heads, c.dim / c.n_heads, block, blocks, p};
}

std::vector<std::size_t> tokens(std::size_t n, std::size_t seed) {
    std::vector<std::size_t> t(n);
    for (std::size_t i = 0; i < n; ++i) t[i] = (i * 7 + seed * 13 + 1) % 50;
    return t;
}

}  // namespace

TEST_CASE("the paged cache gives the logits of recomputing, for every block size") {
    for (std::size_t kv : {4, 2}) {
        const attn::Llama model = small_llama(kv);
        const std::vector<std::size_t> all = tokens(17, 1);
        const Matrix full = model.logits(all);  // chapter 08, no cache at all
        for (std::size_t block : {1, 2, 5, 16, 64}) {
            INFO("n_kv_heads " << kv << ", block size " << block);
            PagedKVCache cache(cache_for(model, block, 40));
            attn::BatchedLlama runner(model, cache);
            const auto id = cache.add_sequence();
            // A prompt of 9, then one token at a time.
            const std::vector<std::size_t> prompt(all.begin(), all.begin() + 9);
            Matrix got = runner.step({id}, {prompt});
            CHECK_THAT(Matrix(xt::view(got, 0, xt::newaxis(), xt::all())),
                       IsClose(Matrix(xt::view(full, 8, xt::newaxis(), xt::all())), 1e-5f));
            for (std::size_t t = 9; t < all.size(); ++t) {
                got = runner.step({id}, {{all[t]}});
                CHECK_THAT(Matrix(xt::view(got, 0, xt::newaxis(), xt::all())),
                           IsClose(Matrix(xt::view(full, t, xt::newaxis(), xt::all())), 1e-5f));
            }
            CHECK(cache.length(id) == 17);
            CHECK(cache.block_table(id).size() == attn::blocks_for(17, block));
        }
    }
}

TEST_CASE("a batch gives each sequence the logits it has alone, in one step or in turns") {
    const attn::Llama model = small_llama(2);
    PagedKVCache together(cache_for(model, 3, 60));
    attn::BatchedLlama runner(model, together);
    std::vector<PagedKVCache::SequenceId> ids;
    std::vector<std::vector<std::size_t>> prompts;
    // 85 rows in the first step (BLAS), 5 in the second (the packed weights).
    for (std::size_t s = 0; s < 5; ++s) {
        ids.push_back(together.add_sequence());
        prompts.push_back(tokens(1 + s * 8, s));
    }
    const Matrix first = runner.step(ids, prompts);
    const Matrix second = runner.step(ids, {{1}, {2}, {3}, {4}, {5}});
    for (std::size_t s = 0; s < 5; ++s) {
        std::vector<std::size_t> all = prompts[s];
        const Matrix a = model.logits(all);
        all.push_back(s + 1);
        const Matrix b = model.logits(all);
        INFO("sequence " << s);
        CHECK_THAT(Matrix(xt::view(first, s, xt::newaxis(), xt::all())),
                   IsClose(Matrix(xt::view(a, a.shape(0) - 1, xt::newaxis(), xt::all())), 1e-5f));
        CHECK_THAT(Matrix(xt::view(second, s, xt::newaxis(), xt::all())),
                   IsClose(Matrix(xt::view(b, b.shape(0) - 1, xt::newaxis(), xt::all())), 1e-5f));
    }
}

TEST_CASE("matmul_packed equals the plain sum for every batch and odd sizes") {
    attn::Rng rng(5);
    for (std::size_t batch : {1, 2, 5, 6, 7, 13}) {
        for (auto [out, in] : {std::pair<std::size_t, std::size_t>{5, 3}, {17, 9}, {32, 40}}) {
            const Matrix w = attn::random_normal(out, in, rng),
                         x = attn::random_normal(batch, in, rng);
            Matrix y = xt::zeros<float>({batch, out}), want = xt::zeros<float>({batch, out});
            attn::matmul_packed(attn::pack_weight(w.data(), out, in), x.data(), batch, y.data());
            for (std::size_t b = 0; b < batch; ++b)
                for (std::size_t o = 0; o < out; ++o)
                    for (std::size_t i = 0; i < in; ++i) want(b, o) += x(b, i) * w(o, i);
            INFO("batch " << batch << ", out " << out << ", in " << in);
            CHECK_THAT(y, IsClose(want, 1e-5f));
        }
    }
}

TEST_CASE("a fork shares every block and copies only the partly filled one it writes") {
    const attn::Llama model = small_llama(2);
    PagedKVCache cache(cache_for(model, 4, 20));
    attn::BatchedLlama runner(model, cache);
    const auto parent = cache.add_sequence();
    runner.step({parent}, {tokens(10, 2)});  // blocks of 4, 4 and 2 positions
    const std::vector<std::size_t> before = cache.block_table(parent);
    const std::vector<float> key9 = cache.key(1, parent, 1, 9);
    const auto child = cache.fork(parent);
    CHECK(cache.block_table(child) == before);
    for (std::size_t b : before) CHECK(cache.allocator().owners(b) == 2);
    CHECK(cache.blocks_needed(child, 1) == 1);  // the copy of the last block
    const Matrix a = runner.step({child}, {{7}});
    // The child has its own third block holding a copy of rows 0-1; the parent is untouched.
    CHECK(cache.block_table(child)[0] == before[0]);
    CHECK(cache.block_table(child)[1] == before[1]);
    CHECK(cache.block_table(child)[2] != before[2]);
    CHECK(cache.allocator().owners(before[2]) == 1);
    CHECK(cache.block_table(parent) == before);
    CHECK(cache.length(parent) == 10);
    CHECK(cache.key(1, parent, 1, 9) == key9);
    CHECK(cache.key(1, child, 1, 9) == key9);
    // The child's logits are those of the whole sequence, recomputed.
    std::vector<std::size_t> all = tokens(10, 2);
    all.push_back(7);
    const Matrix full = model.logits(all);
    CHECK_THAT(a, IsClose(Matrix(xt::view(full, 10, xt::newaxis(), xt::all())), 1e-5f));
    // Removing both frees everything.
    cache.remove(parent);
    cache.remove(child);
    CHECK(cache.allocator().free_blocks() == 20);
}

TEST_CASE("int8 rows are within half a scale, and an int8 cache stays close to float32") {
    attn::Rng rng(8);
    const attn::Vector x = attn::random_normal(48, rng, 3.0f);
    std::vector<std::int8_t> q(48);
    const float scale = attn::quantize_row(x.data(), 48, q.data());
    float largest = 0;
    for (std::size_t i = 0; i < 48; ++i) largest = std::max(largest, std::abs(x(i)));
    CHECK(scale == Approx(largest / 127.0f));
    for (std::size_t i = 0; i < 48; ++i) {
        CHECK(std::abs(static_cast<float>(q[i]) * scale - x(i)) <= scale / 2 * 1.0001f);
        CHECK(std::abs(int{q[i]}) <= 127);
    }
    const std::vector<float> zeros(5, 0.0f);
    std::vector<std::int8_t> qz(5, 9);
    CHECK(attn::quantize_row(zeros.data(), 5, qz.data()) == 0.0f);
    CHECK(qz == std::vector<std::int8_t>(5, 0));

    const attn::Llama model = small_llama(2);
    PagedKVCache f(cache_for(model, 4, 10)), i(cache_for(model, 4, 10, attn::KVPrecision::int8));
    attn::BatchedLlama rf(model, f), ri(model, i);
    const auto a = f.add_sequence(), b = i.add_sequence();
    const Matrix lf = rf.step({a}, {tokens(12, 4)}), li = ri.step({b}, {tokens(12, 4)});
    CHECK_THAT(li, IsClose(lf, 2e-2f));
    // 2 layers, 2 key/value heads, keys and values: 8 numbers of 4 bytes, or 8 of 1 + a scale.
    CHECK(f.bytes_per_position() == 2 * 2 * 2 * 8 * 4);
    CHECK(i.bytes_per_position() == 2 * 2 * 2 * (8 + 4));
}

TEST_CASE("the serving simulation accounts for all its memory and pages waste little") {
    attn::TraceSpec spec;
    spec.requests = 200;
    attn::Rng rng(1);
    const std::vector<attn::Request> trace = attn::serving_trace(spec, rng);
    for (const attn::Request& r : trace) {
        CHECK(r.output >= 1);
        CHECK(r.output <= r.max_tokens);
        CHECK(r.prompt + r.max_tokens <= spec.context);
    }
    std::size_t outputs = 0;
    for (const attn::Request& r : trace) outputs += r.output;
    for (attn::Allocation a :
         {attn::Allocation::max_length, attn::Allocation::max_tokens, attn::Allocation::paged}) {
        const attn::TraceResult r = attn::simulate_serving(trace, 8192, a, 16);
        const attn::MemoryShares& m = r.shares;
        CHECK(m.tokens + m.reserved + m.internal + m.external + m.free == Approx(1.0));
        CHECK(r.generated == outputs);
        if (a == attn::Allocation::paged) {
            CHECK(m.wasted() < 0.04);
            CHECK(m.reserved == 0);
            CHECK(m.external == 0);
        } else {
            CHECK(m.wasted() > 0.3);
            CHECK(r.preemptions == 0);
        }
    }
    // With room for only one whole-context reservation, one sequence runs at a time.
    const attn::TraceResult one = attn::simulate_serving(trace, 2048, attn::Allocation::max_length);
    CHECK(one.most_running == 1);
}

TEST_CASE("bad input is refused, naming it, and no other sequence changes") {
    using Catch::Matchers::Contains;
    CHECK_THROWS_WITH(PagedKVCache({1, 1, 4, 0, 4}), Contains("block_size must be at least 1"));
    CHECK_THROWS_WITH(attn::block_slot(8, 4, {3, 1}), Contains("position 8"));
    attn::BlockAllocator pool(2);
    const std::size_t b = pool.allocate();
    pool.release(b);
    CHECK_THROWS_WITH(pool.release(b), Contains("already free"));
    CHECK_THROWS_WITH(pool.release(5),
                      Contains("block = 5 is outside 0..1 (2 blocks in the pool)"));
    pool.allocate();
    pool.allocate();
    CHECK_THROWS_AS(pool.allocate(), attn::out_of_blocks);

    const attn::Llama model = small_llama(2);
    PagedKVCache cache(cache_for(model, 4, 6));
    attn::BatchedLlama runner(model, cache);
    const auto a = cache.add_sequence(), c = cache.add_sequence();
    runner.step({a, c}, {tokens(9, 1), tokens(5, 2)});  // 3 + 2 blocks of 6
    const auto key = cache.key(0, a, 1, 8);
    const auto table = cache.block_table(a);
    CHECK_THROWS_WITH(runner.step({a, 9}, {{1}, {2}}), Contains("no sequence has id 9"));
    CHECK_THROWS_WITH(runner.step({a, a}, {{1}, {2}}), Contains("given twice"));
    CHECK_THROWS_WITH(runner.step({a, c}, {{1}, {}}), Contains("no new token"));
    CHECK_THROWS_WITH(runner.step({a, c}, {{1}, {60}}), Contains("60"));
    CHECK_THROWS_WITH(runner.step({c}, {tokens(30, 3)}), Contains("more than the whole pool"));
    CHECK_THROWS_AS(runner.step({a, c}, {tokens(4, 3), tokens(4, 4)}), attn::out_of_blocks);
    CHECK_THROWS_WITH(runner.step({a}, {tokens(35, 3)}), Contains("seq_len"));
    CHECK_THROWS_WITH(cache.remove(4), Contains("no sequence has id 4"));
    CHECK(cache.key(0, a, 1, 8) == key);
    CHECK(cache.block_table(a) == table);
    CHECK(cache.length(a) == 9);
    CHECK(cache.length(c) == 5);
    CHECK(cache.allocator().free_blocks() == 1);
    CHECK_THROWS_WITH(
        attn::simulate_serving({{0, 1500, 10, 500}}, 1024, attn::Allocation::max_tokens),
        Contains("can never fit"));
    PagedKVCache other(cache_for(small_llama(4), 4, 6));
    CHECK_THROWS_WITH(attn::BatchedLlama(model, other), Contains("the model needs"));
}

TEST_CASE("batched_logits: every position's logits, batched and paged, as each sequence alone") {
    const attn::Llama model = small_llama(2);
    // Three sequences of different lengths, two a step: a batch that shrinks as they end,
    // then a second batch.
    const std::vector<std::vector<std::size_t>> sequences = {tokens(9, 1), tokens(4, 2),
                                                             tokens(7, 3)};
    for (attn::KVPrecision p : {attn::KVPrecision::float32, attn::KVPrecision::int8}) {
        INFO((p == attn::KVPrecision::int8 ? "int8" : "float32"));
        PagedKVCache cache(cache_for(model, 4, 6, p));
        attn::BatchedLlama runner(model, cache);
        const std::vector<Matrix> got = attn::batched_logits(runner, cache, sequences, 2);
        REQUIRE(got.size() == sequences.size());
        for (std::size_t i = 0; i < sequences.size(); ++i) {
            const Matrix want = model.logits(sequences[i]);
            REQUIRE(got[i].shape() == want.shape());
            const double err = xt::amax(xt::abs(got[i] - want))();
            if (p == attn::KVPrecision::float32)
                CHECK(err < 1e-5);
            else
                CHECK((err > 0 && err < 0.05));  // rounded, and by little
        }
        CHECK(cache.allocator().free_blocks() == 6);  // every sequence removed
    }
    PagedKVCache cache(cache_for(model, 4, 6));
    attn::BatchedLlama runner(model, cache);
    CHECK_THROWS_WITH(attn::batched_logits(runner, cache, sequences, 0),
                      Contains("attn::batched_logits") && Contains("batch"));
    CHECK_THROWS_WITH(attn::batched_logits(runner, cache, {{1, 2}, {}}),
                      Contains("sequences[1]") && Contains("no token"));
    // More than the pool holds: refused by the cache, and the batch's sequences leave it.
    PagedKVCache small(cache_for(model, 4, 3));
    attn::BatchedLlama on_small(model, small);
    CHECK_THROWS_AS(attn::batched_logits(on_small, small, sequences, 3), attn::out_of_blocks);
    CHECK(small.allocator().free_blocks() == 3);
}

TEST_CASE("a NaN or infinite key or value is refused at store, in both precisions") {
    using attn::test::NamesShapeError;
    const float nan = std::numeric_limits<float>::quiet_NaN();
    const float inf = std::numeric_limits<float>::infinity();
    for (attn::KVPrecision p : {attn::KVPrecision::float32, attn::KVPrecision::int8}) {
        INFO((p == attn::KVPrecision::int8 ? "int8" : "float32"));
        // 2 layers, 2 key/value heads of 4 numbers, blocks of 2 positions.
        PagedKVCache cache({2, 2, 4, 2, 4, p});
        const auto id = cache.add_sequence();
        const std::vector<float> keys = {1, 2, 3, 4, 5, 6, 7, 8}, values = {8, 7, 6, 5, 4, 3, 2, 1};
        cache.append_position(id);
        for (std::size_t l = 0; l < 2; ++l) cache.store(l, id, 0, keys.data(), values.data());
        cache.append_position(id);
        cache.store(0, id, 1, keys.data(), values.data());
        const std::vector<float> key_before = cache.key(1, id, 1, 0),
                                 stored = cache.key(0, id, 1, 1);
        const std::vector<std::size_t> table = cache.block_table(id);

        std::vector<float> bad_keys = keys, bad_values = values;
        bad_keys[6] = nan;  // kv_head 1, number 2
        bad_values[3] = inf;
        CHECK_THROWS_MATCHES(cache.store(0, id, 1, bad_keys.data(), values.data()),
                             std::invalid_argument,
                             NamesShapeError("attn::PagedKVCache::store", "keys[6] = NaN"));
        CHECK_THROWS_WITH(
            cache.store(0, id, 1, bad_keys.data(), values.data()),
            Contains("kv_head = 1") && Contains("layer = 0") && Contains("position = 1"));
        CHECK_THROWS_MATCHES(cache.store(1, id, 1, keys.data(), bad_values.data()),
                             std::invalid_argument,
                             NamesShapeError("attn::PagedKVCache::store", "values[3] = inf"));
        bad_values[3] = -inf;
        CHECK_THROWS_MATCHES(cache.store(1, id, 1, keys.data(), bad_values.data()),
                             std::invalid_argument,
                             NamesShapeError("attn::PagedKVCache::store", "values[3] = -inf"));
        // Nothing was written: the rows stored before read back as they were.
        CHECK(cache.key(0, id, 1, 1) == stored);
        CHECK(cache.key(1, id, 1, 0) == key_before);
        CHECK(cache.length(id) == 2);
        CHECK(cache.block_table(id) == table);
    }
    const std::vector<float> x = {1.0f, nan, 2.0f};
    std::vector<std::int8_t> q(3, 5);
    CHECK_THROWS_MATCHES(attn::quantize_row(x.data(), 3, q.data()), std::invalid_argument,
                         NamesShapeError("attn::quantize_row", "x[1] = NaN"));
    CHECK(q == std::vector<std::int8_t>(3, 5));
}

TEST_CASE("attention through a block table refuses an entry past the pool, reading nothing") {
    using attn::test::NamesShapeError;
    // A pool of 3 blocks of 2 rows of d = 2, as bench_serving builds one.
    const std::vector<float> keys = {1, 0, 0, 1, 1, 1, -1, 0, 0, -1, 2, 2}, values = keys;
    attn::Float32Head h{keys.data(), values.data(), {}};
    h.layout.block_stride = 2;  // rows
    h.layout.block_size = 2;
    h.layout.d = 2;
    h.layout.n_blocks = 3;
    const std::vector<float> q = {1.0f, 0.5f};
    std::vector<float> out(2, 7.0f), scores(4);
    const std::vector<std::size_t> good = {2, 0}, past = {2, 3}, unused_past = {2, 0, 9};
    attn::attend_paged(q.data(), h, good.data(), 4, out.data(), scores.data());
    CHECK(std::isfinite(out[0]));
    CHECK(std::isfinite(out[1]));
    const std::vector<float> before = out;
    CHECK_THROWS_MATCHES(attn::attend_paged(q.data(), h, past.data(), 4, out.data(), scores.data()),
                         std::invalid_argument,
                         NamesShapeError("attn::attend_paged", "table[1] = 3"));
    CHECK(out == before);
    // Entries past the n positions asked for are not read, so not checked.
    attn::attend_paged(q.data(), h, unused_past.data(), 4, out.data(), scores.data());
    CHECK(out == before);
    h.layout.n_blocks = 0;  // a view that does not say how large its pool is
    CHECK_THROWS_MATCHES(attn::attend_paged(q.data(), h, good.data(), 1, out.data(), scores.data()),
                         std::invalid_argument,
                         NamesShapeError("attn::attend_paged", "n_blocks = 0"));
    h.layout.n_blocks = 3;
    h.layout.block_size = 0;
    CHECK_THROWS_MATCHES(attn::attend_paged(q.data(), h, good.data(), 1, out.data(), scores.data()),
                         std::invalid_argument,
                         NamesShapeError("attn::attend_paged", "block_size = 0"));
}

TEST_CASE("an unknown sequence id is refused naming the function called, changing nothing") {
    using attn::test::NamesShapeError;
    const attn::Llama model = small_llama(2);
    PagedKVCache cache(cache_for(model, 4, 6));
    attn::BatchedLlama runner(model, cache);
    const auto a = cache.add_sequence();
    runner.step({a}, {tokens(5, 1)});
    const std::vector<std::size_t> table = cache.block_table(a);
    CHECK_THROWS_MATCHES(runner.step({a, 9}, {{1}, {2}}), std::invalid_argument,
                         NamesShapeError("attn::BatchedLlama::step", "id 9"));
    CHECK(cache.length(a) == 5);
    CHECK(cache.block_table(a) == table);
}

TEST_CASE(
    "the serving model and trace refuse settings that would divide by zero or clamp "
    "nothing") {
    using attn::test::NamesShapeError;
    attn::LlamaConfig c = attn::stories15m_config();
    c.n_heads = 0;
    CHECK_THROWS_MATCHES(attn::decode_step_cost(c, 1, 100, 1000), std::invalid_argument,
                         NamesShapeError("attn::decode_step_cost", "n_heads"));
    attn::Rng rng(1);
    attn::TraceSpec spec;
    spec.requests = 10;
    spec.context = 1;
    CHECK_THROWS_MATCHES(attn::serving_trace(spec, rng), std::invalid_argument,
                         NamesShapeError("attn::serving_trace", "context = 1"));
    spec.context = 2048;
    spec.max_tokens = {256, 0};
    CHECK_THROWS_MATCHES(attn::serving_trace(spec, rng), std::invalid_argument,
                         NamesShapeError("attn::serving_trace", "max_tokens[1] = 0"));
}

TEST_CASE("the block tables report a copy on write, and refuse a block the pool has not") {
    attn::BlockTables tables(4, 2);
    const attn::SequenceId a = tables.add_sequence();
    for (int i = 0; i < 3; ++i) CHECK_FALSE(tables.append_position(a).copied);
    const attn::SequenceId b = tables.fork(a);
    CHECK(tables.allocator().owners(tables.sequence(a).blocks[1]) == 2);
    const std::size_t shared = tables.sequence(a).blocks[1];
    const attn::Appended w = tables.append_position(b);
    CHECK(w.copied);
    CHECK(w.position == 3);
    CHECK(w.from == shared);
    CHECK(w.rows == 1);
    CHECK(tables.sequence(b).blocks[1] == w.to);
    CHECK(tables.allocator().owners(shared) == 1);
    // Full pool: a new block is refused and nothing changes.
    CHECK_FALSE(tables.append_position(a).copied);  // block 1 is a's alone now
    const attn::SequenceId c = tables.add_sequence();
    tables.append_position(c);
    CHECK(tables.allocator().free_blocks() == 0);
    CHECK_THROWS_AS(tables.append_position(b), attn::out_of_blocks);
    CHECK_THROWS_AS(tables.append_position(a), attn::out_of_blocks);
    CHECK(tables.sequence(a).length == 4);
    CHECK(tables.sequence(b).length == 4);
    CHECK(tables.sequence(b).blocks.size() == 2);
}

TEST_CASE(
    "the scheduler admits first come first served, keeps a watermark and evicts the last "
    "admitted") {
    attn::BlockTables tables(6, 2);  // 12 positions
    attn::Scheduler s(tables);
    s.arrive(0, 3);  // 2 blocks
    s.arrive(1, 4);  // 2 blocks, + 1 for request 0's growth
    s.arrive(2, 1);  // 1 block, but 2 running ask 2 spare: 2 + 2 + 1 + 2 > 6 waits
    std::vector<attn::Work> w = s.plan();
    REQUIRE(w.size() == 2);
    CHECK(w[0].request == 0);
    CHECK(w[0].new_tokens == 3);
    CHECK(w[0].admitted);
    CHECK(w[1].request == 1);
    CHECK(w[1].new_tokens == 4);
    CHECK(s.waiting() == 1);
    for (const attn::Work& x : w)
        for (std::size_t t = 0; t < x.new_tokens; ++t) tables.append_position(x.sequence);
    s.generated(0, false);
    s.generated(1, false);
    // Next step: each runs its last token. Request 0 (3 positions) writes into its own
    // block, request 1 (4 positions) needs a third block: 1 needed, 2 free, 2 running:
    // request 2 still waits (1 + 1 + 2 > 2).
    w = s.plan();
    REQUIRE(w.size() == 2);
    CHECK(w[0].new_tokens == 1);
    CHECK_FALSE(w[0].admitted);
    CHECK(s.waiting() == 1);
    for (const attn::Work& x : w) tables.append_position(x.sequence);
    s.generated(0, false);
    s.generated(1, false);
    // Fill the pool with a sequence the scheduler does not own: growth must evict.
    const attn::SequenceId other = tables.add_sequence();
    tables.append_position(other);
    CHECK(tables.allocator().free_blocks() == 0);
    // Request 0 has 4 positions (2 full blocks) and needs a block: request 1, admitted
    // last, is evicted and goes back to the head of the queue, before request 2.
    w = s.plan();
    CHECK(s.evictions() == 1);
    REQUIRE(w.size() == 1);
    CHECK(w[0].request == 0);
    CHECK(s.waiting() == 2);
    tables.append_position(w[0].sequence);
    s.generated(0, true);  // done: its blocks are free
    tables.remove(other);
    // Request 1 comes back first, with its prompt and its 2 generated tokens to recompute.
    w = s.plan();
    REQUIRE_FALSE(w.empty());
    CHECK(w[0].request == 1);
    CHECK(w[0].generated == 2);
    CHECK(w[0].new_tokens == 6);
    CHECK_THROWS_WITH(s.generated(7, false), Contains("request 7 is not running"));
    CHECK_THROWS_WITH(s.arrive(1, 3), Contains("already arrived"));
    CHECK_THROWS_WITH(s.arrive(9, 0), Contains("prompt = 0"));
    CHECK_THROWS_WITH(s.arrive(9, 13), Contains("needs 7 blocks, the pool has 6"));
}

TEST_CASE("a scheduler whose queue head can never fit says so instead of waiting forever") {
    attn::BlockTables tables(3, 2);
    const attn::SequenceId other = tables.add_sequence();
    for (int i = 0; i < 4; ++i) tables.append_position(other);  // 2 of 3 blocks
    {
        attn::Scheduler s(tables);
        s.arrive(0, 4);  // 2 blocks, 1 free, nothing of the scheduler's runs
        CHECK_THROWS_AS(s.plan(), attn::out_of_blocks);
    }
    {
        attn::Scheduler s(tables);
        s.arrive(0, 2);
        CHECK(s.plan().size() == 1);
    }  // the scheduler's sequence leaves the tables with it
    CHECK(tables.sequences() == std::vector<attn::SequenceId>{other});
    {
        // A lone running sequence that needs a block another owner holds: evicted, and it
        // cannot come back, so plan() says so at once rather than returning nothing.
        attn::BlockTables two(2, 2);
        attn::Scheduler s(two);
        s.arrive(0, 2);
        const std::vector<attn::Work> w = s.plan();
        REQUIRE(w.size() == 1);
        two.append_position(w[0].sequence);
        two.append_position(w[0].sequence);
        s.generated(0, false);
        two.append_position(two.add_sequence());  // the last free block
        CHECK_THROWS_AS(s.plan(), attn::out_of_blocks);
    }
}

TEST_CASE("serve: every request gets its tokens decoded alone, through waits and evictions") {
    const attn::Llama model = small_llama(2);
    std::vector<attn::ServeRequest> requests;
    for (std::size_t i = 0; i < 12; ++i)
        requests.push_back({i / 3, tokens(2 + (i * 5) % 9, i), 3 + (i * 7) % 11});
    // One more, long after the others: the server goes straight to its step.
    requests.push_back({std::size_t{1} << 40, tokens(4, 7), 3});
    // 10 blocks of 3 positions: the longest request needs 6 of them, everyone 73 in all.
    PagedKVCache cache(cache_for(model, 3, 10));
    attn::BatchedLlama runner(model, cache);
    const attn::ServeResult r = attn::serve(runner, requests);
    CHECK(r.evictions > 0);
    CHECK(r.most_running > 1);
    CHECK(r.steps < 200);
    std::size_t fed = 0;
    for (std::size_t i = 0; i < requests.size(); ++i) {
        INFO("request " << i);
        attn::Rng rng(1);
        const std::vector<std::size_t> alone =
            attn::llama_generate(model, requests[i].prompt, requests[i].max_new, {}, rng,
                                 [](std::size_t) { return true; });
        CHECK(r.generated[i] ==
              std::vector<std::size_t>(
                  alone.begin() + static_cast<std::ptrdiff_t>(requests[i].prompt.size()),
                  alone.end()));
        fed += requests[i].prompt.size() + requests[i].max_new - 1;
    }
    CHECK(r.rows > fed);  // the evicted sequences' tokens were run again
    CHECK(cache.sequences().empty());
    CHECK(cache.allocator().free_blocks() == 10);
}

TEST_CASE("serve refuses requests it could never finish, naming the request, before running") {
    using attn::test::NamesShapeError;
    const attn::Llama model = small_llama(2);
    PagedKVCache cache(cache_for(model, 4, 3));
    attn::BatchedLlama runner(model, cache);
    const attn::SequenceId kept = cache.add_sequence();
    runner.step({kept}, {tokens(3, 1)});
    const auto refused = [&](std::vector<attn::ServeRequest> requests, const char* what) {
        CHECK_THROWS_MATCHES(attn::serve(runner, requests), std::invalid_argument,
                             NamesShapeError("attn::serve", what));
        CHECK(cache.sequences() == std::vector<attn::SequenceId>{kept});
        CHECK(cache.length(kept) == 3);
    };
    refused({{0, {1, 2}, 2}, {0, {}, 2}}, "requests[1]");
    refused({{0, {1, 2}, 0}}, "max_new");
    refused({{0, {1, 50}, 2}}, "requests[0].prompt[1] = 50 is outside 0..49");
    refused({{2, {1}, 2}, {1, {1}, 2}}, "requests[1] arrives before");
    refused({{0, tokens(10, 1), 4}}, "needs 13 positions");
    refused({{0, tokens(8, 1), 2}}, "the 2 free blocks");  // 9 positions: 3 blocks, 2 free
}

TEST_CASE("batched_logits checks every sequence before the first step") {
    const attn::Llama model = small_llama(2);
    PagedKVCache cache(cache_for(model, 4, 40));
    attn::BatchedLlama runner(model, cache);
    CHECK_THROWS_WITH(attn::batched_logits(runner, cache, {{1, 2}, {3, 50}}, 2),
                      Contains("attn::batched_logits") && Contains("sequences[1][1] = 50"));
    CHECK_THROWS_WITH(attn::batched_logits(runner, cache, {tokens(41, 1)}, 2),
                      Contains("attn::batched_logits") && Contains("41 tokens"));
    CHECK(cache.allocator().free_blocks() == 40);
}

TEST_CASE(
    "admissions: the queue's head first, with the blocks of those before it and a spare "
    "block per running sequence") {
    // Every queue of up to 3 requests of 1 to 3 blocks over pools of up to 9 free blocks,
    // against the rule walked here request by request.
    for (std::size_t n = 0; n <= 3; ++n)
        for (std::size_t code = 0; code < 27; ++code)
            for (std::size_t free = 0; free <= 9; ++free)
                for (std::size_t growth = 0; growth <= std::min<std::size_t>(free, 2); ++growth)
                    for (std::size_t running = 0; running <= 2; ++running) {
                        std::vector<std::size_t> needs;
                        for (std::size_t i = 0, rest = code; i < n; ++i, rest /= 3)
                            needs.push_back(1 + rest % 3);
                        std::size_t expected = 0, taken = growth;
                        while (expected < n && taken + needs[expected] + running + expected <= free)
                            taken += needs[expected++];
                        INFO("needs of " << n << " requests (code " << code << "), free " << free
                                         << ", growth " << growth << ", running " << running);
                        CHECK(attn::admissions(needs, free, growth, running) == expected);
                    }
    CHECK_THROWS_WITH(attn::admissions({2, 0}, 8, 0, 0),
                      Contains("attn::admissions") && Contains("needs[1] = 0"));
    CHECK_THROWS_WITH(attn::admissions({2}, 3, 5, 0),
                      Contains("attn::admissions") && Contains("growth = 5"));
}
