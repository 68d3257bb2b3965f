// answers: 8.3
// expect 8.3: failing
// mistake: a pair replaces the best so far when its score is >= the best, so among equal scores the rightmost pair is merged instead of the leftmost; right whenever the best score is unique
// part: tie-breaking between equal scores
#include "exercises.hpp"

#include <map>
#include <string>

namespace attn::ex08 {

std::vector<std::size_t> merge_pairs(std::vector<std::size_t> tokens,
                                     const std::vector<std::string>& pieces,
                                     const std::vector<float>& scores) {
    constexpr const char* fn = "attn::ex08::merge_pairs";
    if (pieces.size() != scores.size()) {
        attn::invalid_argument(fn, "pieces has " + std::to_string(pieces.size()) +
                                       " entries but scores has " + std::to_string(scores.size()));
    }
    for (std::size_t i = 0; i < tokens.size(); ++i) {
        if (tokens[i] >= pieces.size()) {
            attn::invalid_argument(fn, "tokens[" + std::to_string(i) +
                                           "] = " + std::to_string(tokens[i]) +
                                           " is outside the vocabulary of " +
                                           std::to_string(pieces.size()) + " pieces");
        }
    }
    std::map<std::string, std::size_t> id_of;
    for (std::size_t id = 0; id < pieces.size(); ++id)
        id_of.emplace(pieces[id], id);  // first id wins

    while (true) {
        bool found = false;
        std::size_t best_i = 0, best_id = 0;
        float best_score = 0.0f;
        for (std::size_t i = 0; i + 1 < tokens.size(); ++i) {
            const auto it = id_of.find(pieces[tokens[i]] + pieces[tokens[i + 1]]);
            if (it == id_of.end()) continue;
            const float score = scores[it->second];
            if (!found || score >= best_score) {
                found = true;
                best_score = score;
                best_i = i;
                best_id = it->second;
            }
        }
        if (!found) return tokens;
        tokens[best_i] = best_id;
        tokens.erase(tokens.begin() + static_cast<std::ptrdiff_t>(best_i + 1));
    }
}

}  // namespace attn::ex08
