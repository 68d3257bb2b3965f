// Exercise 11.1, reference answer.
#include "exercises.hpp"

#include <string>

namespace attn::ex11 {

HeadShare head_share(std::size_t n_heads, std::size_t n_kv_heads, std::size_t hidden_dim,
                     std::size_t rank, std::size_t ranks) {
    constexpr const char* fn = "attn::ex11::head_share";
    if (ranks == 0) invalid_argument(fn, "ranks = 0: there must be at least one process");
    if (rank >= ranks) {
        invalid_argument(fn, "rank = " + std::to_string(rank) +
                                 " is not below ranks = " + std::to_string(ranks));
    }
    const auto share = [&](const char* name, std::size_t count) {
        if (count % ranks != 0) {
            invalid_argument(fn, std::string(name) + " = " + std::to_string(count) +
                                     " does not split over ranks = " + std::to_string(ranks));
        }
        return count / ranks;
    };
    HeadShare s;
    s.heads = share("n_heads", n_heads);
    s.kv_heads = share("n_kv_heads", n_kv_heads);
    s.hidden = share("hidden_dim", hidden_dim);
    // Contiguous blocks: query head h reads key/value head h / (n_heads / n_kv_heads), which
    // for this rank's heads is exactly its own block of key/value heads.
    s.first_head = rank * s.heads;
    s.first_kv_head = rank * s.kv_heads;
    s.first_hidden = rank * s.hidden;
    return s;
}

}  // namespace attn::ex11
