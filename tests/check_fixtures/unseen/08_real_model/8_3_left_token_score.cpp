// answers: 8.3
// expect 8.3: failing
// mistake: pairs are ranked by the score of their left token, scores[tokens[i]], instead of the score of the merged piece
// part: score used to rank pairs
#include "exercises.hpp"

#include <map>
#include <stdexcept>

namespace attn::ex08 {

std::vector<std::size_t> merge_pairs(std::vector<std::size_t> tokens,
                                     const std::vector<std::string>& pieces,
                                     const std::vector<float>& scores) {
    constexpr const char* fn = "attn::ex08::merge_pairs";
    if (pieces.size() != scores.size()) {
        invalid_argument(fn, std::to_string(pieces.size()) + " pieces but " +
                                 std::to_string(scores.size()) + " scores");
    }
    for (std::size_t t : tokens) {
        if (t >= pieces.size())
            invalid_argument(fn, "token " + std::to_string(t) + " is outside the vocabulary");
    }
    std::map<std::string, std::size_t> ids;
    for (std::size_t id = 0; id < pieces.size(); ++id) ids.emplace(pieces[id], id);
    for (;;) {
        std::size_t best = tokens.size(), best_id = 0;
        for (std::size_t i = 0; i + 1 < tokens.size(); ++i) {
            const auto it = ids.find(pieces[tokens[i]] + pieces[tokens[i + 1]]);
            if (it != ids.end() &&
                (best == tokens.size() || scores[tokens[i]] > scores[tokens[best]])) {
                best = i;
                best_id = it->second;
            }
        }
        if (best == tokens.size()) return tokens;
        tokens[best] = best_id;
        tokens.erase(tokens.begin() + static_cast<std::ptrdiff_t>(best) + 1);
    }
}

}  // namespace attn::ex08
