#include "chapters/10_serving/batched_llama.hpp"

#include "chapters/10_serving/paged_kernels.hpp"
#include "common/matmul.hpp"
#include "common/shape.hpp"

#include <xtensor/xsort.hpp>
#include <xtensor/xview.hpp>

#include <algorithm>
#include <chrono>
#include <set>
#include <string>

namespace attn {

namespace {

PackedWeight packed(const LinearWeight& w) {
    return pack_weight(w.data(), w.out(), w.in());
}

}  // namespace

Matrix project_packed(const Matrix& x, const LinearWeight& w, const PackedWeight& packed,
                      const char* caller, const char* name) {
    if (x.shape(0) > 64 || w.in() != x.shape(1)) return project(x, w, caller, name);
    Matrix y = Matrix::from_shape({x.shape(0), w.out()});
    matmul_packed(packed, x.data(), x.shape(0), y.data());
    return y;
}

void PagedKV::store(std::size_t layer, const Matrix& keys, const Matrix& values) {
    for (std::size_t r = 0; r < owners_.size(); ++r)
        cache_.store(layer, owners_[r], positions_[r], &keys(r, 0), &values(r, 0));
}

void PagedKV::attend(std::size_t layer, std::size_t row, std::size_t kv_head, const float* q,
                     float* out, float* scores) const {
    cache_.attend(layer, owners_[row], kv_head, q, positions_[row] + 1, out, scores);
}

BatchedLlama::BatchedLlama(const Llama& model, PagedKVCache& cache)
    : model_(model),
      cache_(cache),
      rope_(rope_tables(0, model.config().seq_len, model.config().dim / model.config().n_heads,
                        model.config().rope_theta)) {
    const LlamaConfig& c = model.config();
    const auto pack = [&](const LinearWeight& w) {
        if (!packed_.count(w.data())) packed_.emplace(w.data(), packed(w));
    };
    for (const LlamaLayer& l : model.weights().layers)
        for (const LinearWeight* w :
             {&l.w_q, &l.w_k, &l.w_v, &l.w_o, &l.w_gate, &l.w_up, &l.w_down})
            pack(*w);
    pack(model.weights().classifier);
    const PagedCacheConfig& k = cache.config();
    const std::size_t d_head = c.dim / c.n_heads;
    if (k.n_layers != c.n_layers || k.n_kv_heads != c.n_kv_heads || k.d_head != d_head) {
        invalid_argument("attn::BatchedLlama",
                         "the cache holds " + std::to_string(k.n_layers) + " layers of " +
                             std::to_string(k.n_kv_heads) + " key/value heads of " +
                             std::to_string(k.d_head) + " numbers; the model needs " +
                             std::to_string(c.n_layers) + " of " + std::to_string(c.n_kv_heads) +
                             " of " + std::to_string(d_head));
    }
}

namespace {

// Every check of a step, before anything changes (so that a refused step leaves every
// sequence as it was); returns the step's tokens, sequence after sequence.
std::vector<std::size_t> check_step(const PagedKVCache& cache, const LlamaConfig& c,
                                    const std::vector<PagedKVCache::SequenceId>& ids,
                                    const std::vector<std::vector<std::size_t>>& tokens,
                                    const char* fn) {
    if (ids.empty()) invalid_argument(fn, "no sequence to run");
    if (tokens.size() != ids.size()) {
        invalid_argument(fn, std::to_string(ids.size()) + " sequences but " +
                                 std::to_string(tokens.size()) + " lists of tokens");
    }
    std::set<PagedKVCache::SequenceId> seen;
    std::size_t blocks = 0;
    std::vector<std::size_t> all;
    for (std::size_t s = 0; s < ids.size(); ++s) {
        const std::string name = "sequence " + std::to_string(ids[s]);
        const std::size_t length = cache.length(ids[s], fn);  // throws for an unknown id
        if (!seen.insert(ids[s]).second) invalid_argument(fn, name + " is given twice");
        if (tokens[s].empty()) invalid_argument(fn, name + " has no new token");
        if (length + tokens[s].size() > c.seq_len) {
            invalid_argument(fn,
                             name + " holds " + std::to_string(length) + " positions; " +
                                 std::to_string(tokens[s].size()) +
                                 " more pass the model's seq_len = " + std::to_string(c.seq_len));
        }
        blocks += cache.blocks_needed(ids[s], tokens[s].size());
        all.insert(all.end(), tokens[s].begin(), tokens[s].end());
    }
    for (std::size_t s = 0; s < ids.size(); ++s) {
        const std::size_t total = cache.length(ids[s]) + tokens[s].size();
        if (blocks_for(total, cache.config().block_size) > cache.allocator().n_blocks()) {
            invalid_argument(
                fn,
                "sequence " + std::to_string(ids[s]) + " would hold " + std::to_string(total) +
                    " positions: " + std::to_string(blocks_for(total, cache.config().block_size)) +
                    " blocks, more than the whole pool of " +
                    std::to_string(cache.allocator().n_blocks()) + " can ever hold");
        }
    }
    if (blocks > cache.allocator().free_blocks()) {
        throw out_of_blocks(std::string(fn) + ": the step needs " + std::to_string(blocks) +
                            " new blocks, " + std::to_string(cache.allocator().free_blocks()) +
                            " are free");
    }
    return all;
}

}  // namespace

Matrix BatchedLlama::step(const std::vector<PagedKVCache::SequenceId>& ids,
                          const std::vector<std::vector<std::size_t>>& tokens) {
    constexpr const char* fn = "attn::BatchedLlama::step";
    const LlamaConfig& c = model_.config();
    Matrix x = model_.embed(check_step(cache_, c, ids, tokens, fn), fn);  // and the vocabulary

    // Row r of the step is token `position[r]` of sequence `owner[r]`.
    std::vector<PagedKVCache::SequenceId> owner;
    std::vector<std::size_t> position, last_row;
    for (std::size_t s = 0; s < ids.size(); ++s) {
        for (std::size_t t = 0; t < tokens[s].size(); ++t) {
            owner.push_back(ids[s]);
            position.push_back(cache_.append_position(ids[s]));
        }
        last_row.push_back(owner.size() - 1);
    }

    // Chapter 08's block, row by row through the block tables; each weight meets the
    // step's rows in the packed kernel (a prompt's many rows: BLAS).
    PagedKV kv(cache_, owner, position);
    const Projector thin = [&](const Matrix& rows_in, const LinearWeight& w) {
        return project_packed(rows_in, w, packed_.at(w.data()), fn, "w");
    };
    for (std::size_t l = 0; l < c.n_layers; ++l)
        llama_block(x, model_.weights().layers[l], l, position, c, rope_, kv, thin);
    // Only the last token of each sequence needs its logits: the classifier, the largest
    // matrix, runs on B rows, not N.
    Matrix last = xt::zeros<float>({ids.size(), c.dim});
    for (std::size_t s = 0; s < ids.size(); ++s) xt::row(last, s) = xt::row(x, last_row[s]);
    const Vector& gain = model_.weights().final_norm;
    return thin(rms_norm(last, gain, c.norm_eps), model_.weights().classifier);
}

std::vector<Matrix> batched_logits(BatchedLlama& model, PagedKVCache& cache,
                                   const std::vector<std::vector<std::size_t>>& sequences,
                                   std::size_t batch) {
    constexpr const char* fn = "attn::batched_logits";
    check_positive(fn, "batch", batch);
    const LlamaConfig& c = model.model().config();
    for (std::size_t i = 0; i < sequences.size(); ++i) {
        const std::string name = "sequences[" + std::to_string(i) + "]";
        check_tokens(sequences[i], c.vocab_size, fn, name);
        check_fits(fn, "tokens of " + name, sequences[i].size(), "seq_len", c.seq_len);
    }
    const std::size_t vocab = c.vocab_size;
    std::vector<Matrix> logits;
    for (std::size_t first = 0; first < sequences.size(); first += batch) {
        const std::size_t last = std::min(sequences.size(), first + batch);
        std::vector<PagedKVCache::SequenceId> ids;
        std::size_t longest = 0;
        for (std::size_t i = first; i < last; ++i) {
            ids.push_back(cache.add_sequence());
            logits.push_back(xt::zeros<float>({sequences[i].size(), vocab}));
            longest = std::max(longest, sequences[i].size());
        }
        // Step t: position t of every sequence that has one, one row each. On an error the
        // batch's sequences leave the cache before it propagates.
        struct Remove {
            PagedKVCache& cache;
            const std::vector<PagedKVCache::SequenceId>& ids;
            ~Remove() {
                for (const PagedKVCache::SequenceId id : ids) cache.remove(id);
            }
        } remove{cache, ids};
        for (std::size_t t = 0; t < longest; ++t) {
            std::vector<PagedKVCache::SequenceId> active;
            std::vector<std::vector<std::size_t>> tokens;
            std::vector<std::size_t> which;
            for (std::size_t i = first; i < last; ++i) {
                if (t >= sequences[i].size()) continue;
                active.push_back(ids[i - first]);
                tokens.push_back({sequences[i][t]});
                which.push_back(i);
            }
            const Matrix step = model.step(active, tokens);
            for (std::size_t r = 0; r < which.size(); ++r)
                xt::row(logits[which[r]], t) = xt::row(step, r);
        }
    }
    return logits;
}

namespace {

// Every check of serve(), before anything runs: a request it could never finish would stop
// the server halfway, with other requests' sequences in the cache.
void check_requests(const LlamaConfig& c, const PagedKVCache& cache,
                    const std::vector<ServeRequest>& requests, const char* fn) {
    for (std::size_t i = 0; i < requests.size(); ++i) {
        const ServeRequest& r = requests[i];
        const std::string name = "requests[" + std::to_string(i) + "]";
        if (r.prompt.empty() || r.max_new == 0)
            invalid_argument(fn, name + ": the prompt and max_new must be at least 1");
        if (i > 0 && r.arrival < requests[i - 1].arrival)
            invalid_argument(fn, name + " arrives before the request listed before it");
        for (std::size_t t = 0; t < r.prompt.size(); ++t) {
            check_index(fn, name + ".prompt[" + std::to_string(t) + "]", r.prompt[t], c.vocab_size,
                        "tokens in the vocabulary");
        }
        // Its last generated token is never fed back: prompt + max_new - 1 positions. Alone
        // with the blocks free now it can always run, so the server can never stall.
        const std::size_t longest = r.prompt.size() + r.max_new - 1;
        const std::size_t blocks = blocks_for(longest, cache.config().block_size);
        if (longest > c.seq_len || blocks > cache.allocator().free_blocks()) {
            invalid_argument(fn, name + " needs " + std::to_string(longest) + " positions (" +
                                     std::to_string(blocks) +
                                     " blocks): more than seq_len = " + std::to_string(c.seq_len) +
                                     " or the " + std::to_string(cache.allocator().free_blocks()) +
                                     " free blocks of the pool");
        }
    }
}

}  // namespace

ServeResult serve(BatchedLlama& model, const std::vector<ServeRequest>& requests) {
    constexpr const char* fn = "attn::serve";
    PagedKVCache& cache = model.cache();
    check_requests(model.model().config(), cache, requests, fn);
    ServeResult result;
    result.generated.resize(requests.size());
    Scheduler scheduler(cache.tables());
    std::size_t next = 0, done = 0;
    for (std::size_t step = 0; done < requests.size(); ++step) {
        for (; next < requests.size() && requests[next].arrival <= step; ++next)
            scheduler.arrive(next, requests[next].prompt.size());
        const std::vector<Work> work = scheduler.plan();
        if (work.empty()) {  // nobody waits or runs: on to the next arrival
            step = requests[next].arrival - 1;
            continue;
        }
        std::vector<SequenceId> ids;
        std::vector<std::vector<std::size_t>> tokens;
        for (const Work& w : work) {
            const std::vector<std::size_t>& out = result.generated[w.request];
            ids.push_back(w.sequence);
            if (w.admitted) {  // its prompt, and what it generated before an eviction
                tokens.push_back(requests[w.request].prompt);
                tokens.back().insert(tokens.back().end(), out.begin(), out.end());
            } else {
                tokens.push_back({out.back()});
            }
            result.rows += tokens.back().size();
        }
        const Matrix logits = model.step(ids, tokens);
        for (std::size_t i = 0; i < work.size(); ++i) {
            std::vector<std::size_t>& out = result.generated[work[i].request];
            out.push_back(static_cast<std::size_t>(xt::argmax(xt::row(logits, i))()));
            const bool finished = out.size() == requests[work[i].request].max_new;
            scheduler.generated(work[i].request, finished);
            done += finished;
        }
        ++result.steps;
        result.most_running = std::max(result.most_running, work.size());
    }
    result.evictions = scheduler.evictions();
    return result;
}

StepCost decode_step_cost(const LlamaConfig& c, std::size_t batch, std::size_t context,
                          std::size_t kv_bytes_per_position) {
    check_config(c, "attn::decode_step_cost");  // n_heads = 0 would divide by zero
    const double B = static_cast<double>(batch);
    const double weights = static_cast<double>(weight_bytes_per_token(c));
    const double d_head = static_cast<double>(c.dim / c.n_heads);
    StepCost cost;
    cost.bytes = weights + B * static_cast<double>(context * kv_bytes_per_position);
    // Every weight is used once per token (the embedding row is copied, not multiplied).
    const double multiplied = weights / sizeof(float) - static_cast<double>(c.dim);
    const double attention = 4.0 * static_cast<double>(c.n_layers * c.n_heads) * d_head *
                             static_cast<double>(context);  // q.k and p v
    cost.flops = B * (2.0 * multiplied + attention);
    return cost;
}

double roofline_tokens_per_second(const StepCost& cost, std::size_t batch, double bytes_per_second,
                                  double flops_per_second) {
    const double seconds = std::max(cost.bytes / bytes_per_second, cost.flops / flops_per_second);
    return static_cast<double>(batch) / seconds;
}

MachineLimits measure_machine(std::size_t bytes) {
    using clock = std::chrono::steady_clock;
    const auto seconds = [](clock::time_point a, clock::time_point b) {
        return std::chrono::duration<double>(b - a).count();
    };
    MachineLimits m;
    std::vector<float> a(std::max<std::size_t>(bytes / sizeof(float), 1024), 1.0f);
    double best = 1e30;
    float total = 0.0f;
    for (int i = 0; i < 5; ++i) {
        const auto t0 = clock::now();
        total += sum_floats(a.data(), a.size());
        best = std::min(best, seconds(t0, clock::now()));
    }
    if (total < 0) m.bytes_per_second = -1;  // uses the sum, so that it is computed
    m.bytes_per_second = static_cast<double>(a.size() * sizeof(float)) / best;
    const int k = 1024;
    std::vector<float> x(static_cast<std::size_t>(k) * k, 0.5f), y(x.size(), 0.25f), z(x.size());
    best = 1e30;
    for (int i = 0; i < 3; ++i) {
        const auto t0 = clock::now();
        gemm(k, k, k, 1.0f, x.data(), k, Read::as_stored, y.data(), k, Read::as_stored, 0.0f,
             z.data(), k);
        best = std::min(best, seconds(t0, clock::now()));
    }
    m.flops_per_second = 2.0 * k * static_cast<double>(k) * k / best;
    return m;
}

}  // namespace attn
