// answers: 11.1
// expect 11.1: failing
// mistake: refuses rank > ranks instead of rank >= ranks, so the rank one past the last (rank = P, e.g. rank 4 of 4) is accepted and gets heads n_heads .. beyond the end instead of an error.
// part: argument checks (rank not below ranks)
#include "exercises.hpp"

#include <string>

namespace attn::ex11 {

namespace {

std::size_t share(const char* name, std::size_t count, std::size_t ranks) {
    if (count % ranks != 0) {
        invalid_argument("head_share", std::string(name) + " = " + std::to_string(count) +
                                           " does not split over " + std::to_string(ranks) +
                                           " ranks");
    }
    return count / ranks;
}

}  // namespace

HeadShare head_share(std::size_t n_heads, std::size_t n_kv_heads, std::size_t hidden_dim,
                     std::size_t rank, std::size_t ranks) {
    if (ranks == 0) invalid_argument("head_share", "ranks = 0");
    if (rank > ranks) {
        invalid_argument("head_share", "rank = " + std::to_string(rank) +
                                           " is past the last rank of " + std::to_string(ranks));
    }
    HeadShare s;
    s.heads = share("n_heads", n_heads, ranks);
    s.kv_heads = share("n_kv_heads", n_kv_heads, ranks);
    s.hidden = share("hidden_dim", hidden_dim, ranks);
    s.first_head = rank * s.heads;
    s.first_kv_head = rank * s.kv_heads;
    s.first_hidden = rank * s.hidden;
    return s;
}

}  // namespace attn::ex11
