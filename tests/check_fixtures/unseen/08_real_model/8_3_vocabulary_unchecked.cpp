// answers: 8.3
// expect 8.3: failing
// mistake: the tokens are never checked against the vocabulary; pieces.at() throws std::out_of_range (not std::invalid_argument naming merge_pairs) for a bad token, and a lone bad token is returned as is
// part: argument check: token outside the vocabulary
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
    std::map<std::string, std::size_t> ids;
    for (std::size_t id = 0; id < pieces.size(); ++id) ids.emplace(pieces[id], id);
    for (;;) {
        std::size_t best = tokens.size(), best_id = 0;
        for (std::size_t i = 0; i + 1 < tokens.size(); ++i) {
            const auto it = ids.find(pieces.at(tokens[i]) + pieces.at(tokens[i + 1]));
            if (it != ids.end() &&
                (best == tokens.size() || scores[it->second] > scores[best_id])) {
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
