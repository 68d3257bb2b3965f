/// \file
/// \brief Chapter 09: the language the model learns, generated. English-like sentences
/// whose verb agrees in number with its subject across a relative clause or a
/// prepositional phrase ("the dog that chased the cats was tired", "the dogs near the cat
/// were hungry"): the test of long-range structure of Linzen et al. 2016.
#pragma once

#include "common/random.hpp"

#include <cstddef>
#include <optional>
#include <string>
#include <vector>

namespace attn {

/// One sentence and what it tests.
struct Sentence {
    std::vector<std::size_t> tokens;  ///< word ids, ending with "."
    std::size_t verb_position = 0;    ///< where "was" or "were" stands
    bool plural_subject = false;      ///< the subject's number: "were" is right when true
    /// A noun between the subject and the verb whose number is the other one (an
    /// attractor): "the dog that chased the cats was": the nearest noun says "were".
    bool attractor = false;
};

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

    /// Every sentence the grammar makes, in a fixed order.
    const std::vector<Sentence>& sentences() const { return sentences_; }

    /// A noun's number: true for a plural noun ("dogs"), false for a singular one, empty for
    /// a word that is not a noun or an id outside the vocabulary.
    std::optional<bool> plural_noun(std::size_t token) const;

    /// Whether `tokens` is one sentence of the grammar (a verb that agrees included).
    bool accepts(const std::vector<std::size_t>& tokens) const;

private:
    std::vector<std::string> words_;
    std::vector<Sentence> sentences_;
};

/// The sentences split in two, by a seeded draw: a held-out set the model never trains on,
/// holding a share of every kind of sentence (with and without an attractor, singular and
/// plural subjects, clause and phrase), and the rest for training.
struct LanguageSplit {
    std::vector<Sentence> train;     ///< sentences to train on
    std::vector<Sentence> held_out;  ///< never seen in training
};

/// Splits `language`'s sentences, `held_out_share` of each kind held out.
LanguageSplit split_sentences(const Language& language, double held_out_share, Rng& rng);

/// A stream of `count` tokens: sentences drawn from `sentences` one after another.
std::vector<std::size_t> token_stream(const std::vector<Sentence>& sentences, std::size_t count,
                                      Rng& rng);

}  // namespace attn
