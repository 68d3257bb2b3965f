// Chapter 11's pieces that need no second process: who owns what, the shards of a block
// (P threads, each running chapter 08's llama_block() on its shard with a summing hook, give
// the whole block's output), merging partial states against attention in one piece, the
// ring's schedule and work against a simulation of the ring, and the byte counts. The MPI
// runs themselves are the ctest entries "ch11/mpiexec -n P".
#include "chapters/11_beyond_one_machine/partition.hpp"

#include "matchers.hpp"

#include <xtensor/xview.hpp>

#include <catch2/catch.hpp>

#include <barrier>
#include <cmath>
#include <mutex>
#include <numeric>
#include <thread>
#include <tuple>
#include <vector>

using attn::Matrix;
using attn::Vector;
using attn::test::IsClose;
using Catch::Matchers::Contains;

namespace {

attn::LlamaConfig config(std::size_t n_heads, std::size_t n_kv_heads, std::size_t hidden) {
    attn::LlamaConfig c;
    c.dim = 8 * n_heads;
    c.hidden_dim = hidden;
    c.n_layers = 1;
    c.n_heads = n_heads;
    c.n_kv_heads = n_kv_heads;
    c.vocab_size = 16;
    c.seq_len = 12;
    return c;
}

}  // namespace

TEST_CASE("head_share: contiguous blocks, a rank's query heads read its own key/value heads") {
    using Sizes = std::tuple<std::size_t, std::size_t, std::size_t>;
    for (const auto& [H, KV, F] :
         {Sizes{8, 4, 48}, Sizes{8, 8, 24}, Sizes{4, 2, 96}, Sizes{6, 6, 30}}) {
        const attn::LlamaConfig c = config(H, KV, F);
        for (std::size_t P = 1; P <= 8; ++P) {
            if (H % P || KV % P || F % P) {
                CHECK_THROWS_WITH(attn::head_share(c, 0, P),
                                  Contains("attn::head_share") &&
                                      Contains("does not split over " + std::to_string(P)));
                continue;
            }
            std::vector<int> head_owner(H, -1), kv_owner(KV, -1), feature_owner(F, -1);
            for (std::size_t r = 0; r < P; ++r) {
                const attn::HeadShare s = attn::head_share(c, r, P);
                for (std::size_t h = s.first_head; h < s.first_head + s.heads; ++h) {
                    CHECK(head_owner[h] == -1);
                    head_owner[h] = static_cast<int>(r);
                    // The key/value head it reads is this rank's.
                    const std::size_t g = attn::kv_head_for(h, H, KV);
                    CHECK((g >= s.first_kv_head && g < s.first_kv_head + s.kv_heads));
                }
                for (std::size_t g = s.first_kv_head; g < s.first_kv_head + s.kv_heads; ++g)
                    kv_owner[g] = static_cast<int>(r);
                for (std::size_t f = s.first_hidden; f < s.first_hidden + s.hidden; ++f)
                    feature_owner[f] = static_cast<int>(r);
            }
            CHECK(std::count(head_owner.begin(), head_owner.end(), -1) == 0);
            CHECK(std::count(kv_owner.begin(), kv_owner.end(), -1) == 0);
            CHECK(std::count(feature_owner.begin(), feature_owner.end(), -1) == 0);
        }
    }
    CHECK_THROWS_WITH(attn::head_share(config(8, 4, 48), 2, 2), Contains("rank = 2"));
    CHECK_THROWS_WITH(attn::head_share(config(8, 4, 48), 0, 0), Contains("ranks = 0"));
}

TEST_CASE("shards of a block, run as P ranks with an all-reduce, give the whole block's output") {
    const attn::LlamaConfig c = config(8, 4, 48);
    attn::Rng rng(3);
    const attn::LlamaWeights w = attn::llama_random(c, rng);
    const Matrix x = attn::random_normal(5, c.dim, rng);
    const Matrix whole = attn::llama_block(x, w.layers[0], 2, c);
    for (std::size_t P : {std::size_t{1}, std::size_t{2}, std::size_t{4}}) {
        INFO("P = " << P);
        // P threads stand for P processes; the hook sums their parts through shared memory.
        std::vector<Matrix> outputs(P), parts(P);
        std::barrier sync(static_cast<std::ptrdiff_t>(P));
        std::vector<std::thread> ranks;
        for (std::size_t r = 0; r < P; ++r) {
            ranks.emplace_back([&, r] {
                const attn::LlamaLayer shard =
                    attn::shard_layer(w.layers[0], c, attn::head_share(c, r, P));
                const attn::LlamaConfig sc = attn::shard_config(c, P);
                attn::KVCache cache(1, sc.n_kv_heads, c.dim / c.n_heads, 8);
                attn::ContiguousKV kv(cache);
                const attn::Reduce all_reduce = [&](Matrix& part) {
                    parts[r] = part;
                    sync.arrive_and_wait();
                    Matrix sum = xt::zeros<float>(part.shape());
                    for (const Matrix& p : parts) sum += p;
                    sync.arrive_and_wait();  // every rank has read every part
                    part = sum;
                };
                Matrix y = x;
                attn::llama_block(y, shard, 0, {2, 3, 4, 5, 6}, sc,
                                  attn::rope_tables(0, 8, c.dim / c.n_heads, c.rope_theta), kv, {},
                                  all_reduce);
                outputs[r] = y;
            });
        }
        for (std::thread& t : ranks) t.join();
        for (std::size_t r = 0; r < P; ++r) CHECK_THAT(outputs[r], IsClose(whole, 1e-5f));
    }
}

TEST_CASE("merge_partials: any split of the keys, merged in any order, is attention in one piece") {
    attn::Rng rng(8);
    const std::size_t n = 9, d = 4, d_v = 3;
    Vector q = attn::random_normal(d, rng) * 30.0f;  // scores tens apart
    const Matrix k = attn::random_normal(n, d, rng), v = attn::random_normal(n, d_v, rng);
    // Attention in one piece, in double.
    std::vector<double> s(n), expected(d_v, 0.0);
    double top = -INFINITY, sum = 0.0;
    for (std::size_t j = 0; j < n; ++j) {
        s[j] = 0.0;
        for (std::size_t e = 0; e < d; ++e) s[j] += double(q(e)) * k(j, e);
        s[j] /= std::sqrt(double(d));
        top = std::max(top, s[j]);
    }
    for (std::size_t j = 0; j < n; ++j) {
        sum += std::exp(s[j] - top);
        for (std::size_t e = 0; e < d_v; ++e) expected[e] += std::exp(s[j] - top) * v(j, e);
    }
    Vector want = xt::zeros<float>({d_v});
    for (std::size_t e = 0; e < d_v; ++e) want(e) = static_cast<float>(expected[e] / sum);
    for (std::size_t cut1 = 0; cut1 <= n; ++cut1) {
        for (std::size_t cut2 = cut1; cut2 <= n; ++cut2) {
            const auto part = [&](std::size_t a, std::size_t b) {
                return attn::partial_attention(q, xt::view(k, xt::range(a, b), xt::all()),
                                               xt::view(v, xt::range(a, b), xt::all()));
            };
            attn::PartialAttention x = part(0, cut1), y = part(cut1, cut2), z = part(cut2, n);
            attn::PartialAttention forward = x, backward = z;
            attn::merge_partials(forward, y);
            attn::merge_partials(forward, z);
            attn::merge_partials(backward, y);
            attn::merge_partials(backward, x);
            INFO("cuts " << cut1 << ", " << cut2);
            CHECK_THAT(attn::finish(forward), IsClose(want, 1e-5f));
            CHECK_THAT(attn::finish(backward), IsClose(want, 1e-5f));
        }
    }
    attn::PartialAttention a = attn::partial_attention(q, k, v);
    CHECK_THROWS_WITH(attn::merge_partials(a, attn::PartialAttention{0.0f, 1.0f, {1.0f}}),
                      Contains("attn::merge_partials"));
}

TEST_CASE("ring_source and ring_work agree with a simulation of the ring") {
    for (std::size_t P = 1; P <= 6; ++P) {
        // The ring: at step 0 each rank holds its own block; each step it passes it right.
        std::vector<std::size_t> held(P);
        std::iota(held.begin(), held.end(), 0);
        for (std::size_t step = 0; step < P; ++step) {
            for (std::size_t r = 0; r < P; ++r) CHECK(attn::ring_source(r, step, P) == held[r]);
            std::vector<std::size_t> next(P);
            for (std::size_t r = 0; r < P; ++r) next[(r + 1) % P] = held[r];
            held = next;
        }
        for (attn::Assignment a : {attn::Assignment::contiguous, attn::Assignment::zigzag}) {
            const std::size_t T = 4 * P * 3;
            const std::vector<double> formula = attn::ring_work(T, P, a);
            for (std::size_t r = 0; r < P; ++r) {
                // Count the causal pairs rank r scores over the blocks the ring brings it.
                const std::vector<std::size_t> mine = attn::rank_positions(r, P, T, a);
                double pairs = 0.0;
                for (std::size_t step = 0; step < P; ++step)
                    for (std::size_t key :
                         attn::rank_positions(attn::ring_source(r, step, P), P, T, a))
                        for (std::size_t query : mine) pairs += key <= query;
                CHECK(formula[r] == pairs);
            }
            if (a == attn::Assignment::zigzag) {
                CHECK(*std::max_element(formula.begin(), formula.end()) ==
                      *std::min_element(formula.begin(), formula.end()));
            }
        }
    }
    CHECK_THROWS_WITH(attn::ring_source(0, 3, 3), Contains("step = 3"));
    CHECK_THROWS_WITH(attn::rank_positions(0, 4, 12, attn::Assignment::zigzag),
                      Contains("T = 12") && Contains("8 equal chunks"));
}

TEST_CASE("the byte counts: a ring all-reduce, tensor parallelism, the sharded cache, the ring") {
    for (std::size_t P = 1; P <= 9; ++P) {
        // A ring all-reduce: 2 (P - 1) steps, each rank sending one P-th of the data a step.
        const double pieces = 2.0 * double(P - 1), piece = 1200.0 / double(P);
        CHECK(attn::ring_allreduce_bytes(1200.0, P) == Approx(pieces * piece));
    }
    const attn::LlamaConfig c = config(8, 4, 48);  // dim 64, 1 layer, heads of 8
    const attn::CommCost tp = attn::tensor_parallel_cost(c, 4);
    CHECK(tp.messages == 2 * 2 * 3);  // two all-reduces a layer, 2 (P - 1) messages each
    CHECK(tp.bytes == Approx(2 * 1.5 * 64 * 4));
    const attn::CommCost kv = attn::sharded_kv_cost(c, 4);
    CHECK(kv.messages == 8 * 2);  // one merge per head, log2 4 = 2 steps
    CHECK(kv.bytes == Approx(8 * 2 * (2 + 8) * 4));
    CHECK(attn::sharded_kv_cost(c, 1).bytes == 0.0);
    const attn::CommCost ring = attn::ring_attention_cost(c, 64, 4);
    CHECK(ring.messages == 3);
    CHECK(ring.bytes == Approx(3 * 2 * 16 * 4 * 8 * 4));
    CHECK_THROWS_WITH(attn::ring_allreduce_bytes(8.0, 0), Contains("ranks = 0"));
}

TEST_CASE("the partition's public functions name themselves in their errors") {
    CHECK_THROWS_WITH(attn::shard_config(config(8, 4, 48), 3),
                      Contains("attn::shard_config") && Contains("n_heads = 8"));
    CHECK_THROWS_WITH(attn::shard_config(config(8, 4, 48), 3, "attn::TensorParallelLlama"),
                      Contains("attn::TensorParallelLlama"));
    CHECK_THROWS_WITH(attn::ring_work(16, 0, attn::Assignment::zigzag),
                      Contains("attn::ring_work") && Contains("ranks = 0"));
    CHECK_THROWS_WITH(attn::ring_work(10, 2, attn::Assignment::zigzag),
                      Contains("attn::ring_work") && Contains("T = 10"));
    CHECK_THROWS_WITH(attn::tensor_parallel_cost(config(8, 4, 48), 0),
                      Contains("attn::tensor_parallel_cost") && Contains("ranks = 0"));
    attn::LlamaConfig no_heads = config(8, 4, 48);
    no_heads.n_heads = 0;
    CHECK_THROWS_WITH(attn::sharded_kv_cost(no_heads, 2), Contains("attn::sharded_kv_cost"));
    CHECK_THROWS_WITH(attn::ring_attention_cost(config(8, 4, 48), 16, 0),
                      Contains("attn::ring_attention_cost"));
}
