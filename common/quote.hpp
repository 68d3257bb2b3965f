/// \file
/// \brief Values the book's prose quotes from the program's run (as knitr and Quarto quote a
/// computed result inline), so that a sentence can never disagree with what was measured.
#pragma once

#include <string>
#include <string_view>

namespace attn {

/// Names a value this run measured, for the book: a chapter's prose writes `{{name}}`
/// where the value goes, and the weave step puts in the text this run gave. Returns `text`,
/// so the program prints what it quotes: `std::cout << quote("b16_gain", "4.7") << "x\n"`.
///
/// When the book is built, the environment variable ATTN_BOOK_VALUES names a file, and each
/// call appends one line `name<TAB>text` to it; otherwise the call only returns `text`.
/// A later call with the same name replaces the value. Throws std::invalid_argument when
/// the name is not made of `a-z`, `0-9` and `_`, or the text holds a tab or a line break.
std::string quote(std::string_view name, std::string_view text);

/// quote() of a number written with `precision` digits after the point.
std::string quote(std::string_view name, double value, int precision);

}  // namespace attn
