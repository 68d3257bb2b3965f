// answers: 8.3
// expect 8.3: failing: of equal scores the rightmost
// Takes a pair of equal score over the best so far (>= instead of >).
#include "exercises.hpp"

#include <map>

namespace attn::ex08 {

std::vector<std::size_t> merge_pairs(std::vector<std::size_t> tokens,
                                     const std::vector<std::string>& pieces,
                                     const std::vector<float>& scores) {
    if (pieces.size() != scores.size()) invalid_argument("attn::ex08::merge_pairs", "sizes differ");
    for (std::size_t t : tokens)
        if (t >= pieces.size()) invalid_argument("attn::ex08::merge_pairs", "unknown token");
    std::map<std::string, std::size_t> ids;
    for (std::size_t id = 0; id < pieces.size(); ++id) ids.emplace(pieces[id], id);
    while (true) {
        std::size_t best = 0, best_id = 0;
        bool found = false;
        for (std::size_t i = 0; i + 1 < tokens.size(); ++i) {
            auto it = ids.find(pieces[tokens[i]] + pieces[tokens[i + 1]]);
            if (it != ids.end() && (!found || scores[it->second] >= scores[best_id])) {
                best = i;
                best_id = it->second;
                found = true;
            }
        }
        if (!found) return tokens;
        tokens[best] = best_id;
        tokens.erase(tokens.begin() + best + 1);
    }
}

}  // namespace attn::ex08
