// answers: 8.3
// expect 8.3: failing: merged the leftmost pair
// Merges the first pair that joins, whatever its score.
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
        bool found = false;
        for (std::size_t i = 0; i + 1 < tokens.size() && !found; ++i) {
            auto it = ids.find(pieces[tokens[i]] + pieces[tokens[i + 1]]);
            if (it != ids.end()) {
                tokens[i] = it->second;
                tokens.erase(tokens.begin() + i + 1);
                found = true;
            }
        }
        if (!found) return tokens;
    }
}

}  // namespace attn::ex08
