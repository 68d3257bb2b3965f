// answers: 11.1
// expect 11.1: failing
// mistake: checks that P divides n_heads and n_kv_heads but never hidden_dim, so a feature count that does not split (e.g. n_heads 8, n_kv_heads 4, hidden_dim 10 on P = 4) returns hidden = 2 and drops the last features instead of throwing.
// part: argument checks (hidden_dim divisibility)
#include "exercises.hpp"

#include <string>

namespace attn::ex11 {

HeadShare head_share(std::size_t n_heads, std::size_t n_kv_heads, std::size_t hidden_dim,
                     std::size_t rank, std::size_t ranks) {
    if (ranks == 0) invalid_argument("head_share", "ranks = 0");
    if (rank >= ranks) {
        invalid_argument("head_share", "rank = " + std::to_string(rank) +
                                           " is not below ranks = " + std::to_string(ranks));
    }
    // Tensor parallelism splits the heads: both kinds of head must split evenly.
    if (n_heads % ranks != 0) {
        invalid_argument("head_share", "n_heads = " + std::to_string(n_heads) +
                                           " does not split over " + std::to_string(ranks));
    }
    if (n_kv_heads % ranks != 0) {
        invalid_argument("head_share", "n_kv_heads = " + std::to_string(n_kv_heads) +
                                           " does not split over " + std::to_string(ranks));
    }
    HeadShare s;
    s.heads = n_heads / ranks;
    s.kv_heads = n_kv_heads / ranks;
    s.hidden = hidden_dim / ranks;
    s.first_head = rank * s.heads;
    s.first_kv_head = rank * s.kv_heads;
    s.first_hidden = rank * s.hidden;
    return s;
}

}  // namespace attn::ex11
