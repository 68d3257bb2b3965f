// answers: 11.1
// expect 11.1: failing: no check that P divides the counts
// Refuses ranks = 0 and a rank past the last, but not counts that P does not divide.
#include "exercises.hpp"

#include <string>

namespace attn::ex11 {

HeadShare head_share(std::size_t n_heads, std::size_t n_kv_heads, std::size_t hidden_dim,
                     std::size_t rank, std::size_t ranks) {
    const char* fn = "attn::ex11::head_share";
    if (ranks == 0) invalid_argument(fn, "ranks = 0");
    if (rank >= ranks)
        invalid_argument(fn, "rank = " + std::to_string(rank) +
                                 " is not below ranks = " + std::to_string(ranks));
    HeadShare s;
    s.heads = n_heads / ranks;
    s.first_head = rank * s.heads;
    s.kv_heads = n_kv_heads / ranks;
    s.first_kv_head = rank * s.kv_heads;
    s.hidden = hidden_dim / ranks;
    s.first_hidden = rank * s.hidden;
    return s;
}

}  // namespace attn::ex11
