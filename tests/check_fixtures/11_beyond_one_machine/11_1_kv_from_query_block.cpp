// answers: 11.1
// expect 11.1: failing: the key/value heads start where the query heads do
// Starts the key/value heads at the query heads' first head.
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
    if (n_heads % ranks != 0)
        invalid_argument(fn, "n_heads = " + std::to_string(n_heads) + " does not split over " +
                                 std::to_string(ranks) + " ranks");
    if (n_kv_heads % ranks != 0)
        invalid_argument(fn, "n_kv_heads = " + std::to_string(n_kv_heads) +
                                 " does not split over " + std::to_string(ranks) + " ranks");
    if (hidden_dim % ranks != 0)
        invalid_argument(fn, "hidden_dim = " + std::to_string(hidden_dim) +
                                 " does not split over " + std::to_string(ranks) + " ranks");
    HeadShare s;
    s.heads = n_heads / ranks;
    s.first_head = rank * s.heads;
    s.kv_heads = n_kv_heads / ranks;
    s.first_kv_head = s.first_head;
    s.hidden = hidden_dim / ranks;
    s.first_hidden = rank * s.hidden;
    return s;
}

}  // namespace attn::ex11
