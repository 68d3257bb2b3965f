/// \file
/// \brief Chapter 09: the language the model learns, generated. English-like sentences
/// whose verb agrees in number with its subject across a relative clause or a
/// prepositional phrase ("the dog that chased the cats was tired", "the dogs near the cat
/// were hungry"): the test of long-range structure of Linzen et al. 2016. A front before
/// the subject ("yesterday , the old dog ...") moves the subject from sentence to sentence,
/// so that finding it takes more than looking at a fixed position.
#pragma once

#include "common/random.hpp"

#include <array>
#include <cstddef>
#include <optional>
#include <set>
#include <string>
#include <vector>

namespace attn {

/// One sentence and what it tests.
struct Sentence {
    std::vector<std::size_t> tokens;   ///< word ids, ending with "."
    std::size_t subject_position = 0;  ///< where the subject noun stands ("dog", "dogs")
    std::size_t verb_position = 0;     ///< where "was" or "were" stands
    bool plural_subject = false;       ///< the subject's number: "were" is right when true
    /// A noun between the subject and the verb whose number is the other one (an
    /// attractor): "the dog that chased the cats was": the nearest noun says "were". It
    /// stands right before the verb (verb_position - 1), where both middles end.
    bool attractor = false;
};

/// The positions (in a sentence's tokens) where split_sentences() holds out every subject:
/// no training sentence has its subject at the fifth or the seventh word ("yesterday , the
/// old dog", "in the morning , the old dog").
inline constexpr std::array<std::size_t, 2> unseen_subject_positions = {4, 6};

/// Whether `sentence`'s subject stands at one of unseen_subject_positions.
bool subject_position_unseen(const Sentence& sentence);

/// The words and the grammar.
class Language {
public:
    Language();

    /// Every word, by id.
    const std::vector<std::string>& words() const { return words_; }
    /// The id of `word`; throws std::invalid_argument for a word not in the vocabulary.
    std::size_t id(const std::string& word) const;
    /// The words of `tokens`, separated by spaces.
    std::string text(const std::vector<std::size_t>& tokens) const;

    /// The sentences the model learns from, in a fixed order: every core sentence of the
    /// grammar ("the dog that chased the cats was tired .") once, each with a front drawn
    /// for it by a seeded generator (the same sentences in every run).
    const std::vector<Sentence>& sentences() const { return sentences_; }

    /// How many sentences the grammar makes: every core sentence with every front, of which
    /// sentences() holds one front each.
    std::size_t grammar_size() const { return cores_.size() * fronts_.size(); }
    /// The mean length in tokens of the grammar's sentences, every one counted once.
    double grammar_mean_tokens() const;

    /// A noun's number: true for a plural noun ("dogs"), false for a singular one, empty for
    /// a word that is not a noun or an id outside the vocabulary.
    std::optional<bool> plural_noun(std::size_t token) const;

    /// Whether `tokens` is one sentence of the grammar (any front, a verb that agrees).
    bool accepts(const std::vector<std::size_t>& tokens) const;

private:
    std::vector<std::string> words_;
    std::vector<Sentence> sentences_;
    std::set<std::vector<std::size_t>> cores_;  // from "the" on, without a front
    // Each front: its words before the core's "the" and between "the" and the noun.
    std::vector<std::pair<std::vector<std::size_t>, std::vector<std::size_t>>> fronts_;
};

/// The sentences split in two, by a seeded draw: a held-out set the model never trains on,
/// and the rest for training. Held out are every sentence whose subject stands at one of
/// unseen_subject_positions, and a share of every kind of the other sentences (with and
/// without an attractor, singular and plural subjects, clause, phrase or neither).
struct LanguageSplit {
    std::vector<Sentence> train;     ///< sentences to train on
    std::vector<Sentence> held_out;  ///< never seen in training
};

/// Splits `language`'s sentences, `held_out_share` of each kind held out (and every subject
/// at unseen_subject_positions). Throws std::invalid_argument for a share not between 0
/// and 1.
LanguageSplit split_sentences(const Language& language, double held_out_share, Rng& rng);

/// A stream of `count` tokens: sentences drawn from `sentences` one after another.
std::vector<std::size_t> token_stream(const std::vector<Sentence>& sentences, std::size_t count,
                                      Rng& rng);

}  // namespace attn
