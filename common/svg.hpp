/// \file
/// \brief What the SVG writers (heatmap, plot, a chapter's own diagram) share: opening the
/// file with the book's page style, escaping text, and how wide a label will be.
#pragma once

#include <filesystem>
#include <fstream>
#include <iosfwd>
#include <string>

namespace attn {

/// `s` with the characters XML gives a meaning (& < > ") escaped.
std::string xml_escape(const std::string& s);

/// Opens `path` for writing, creating its parent directory if needed. Throws
/// std::runtime_error naming `function` and the path when it cannot.
std::ofstream open_svg(const char* function, const std::filesystem::path& path);

/// Opens `path` (as open_svg()) and writes the start of a `width` x `height` px SVG in the
/// book's style: a white background, a sans-serif font of 13 px. End it with end_svg().
std::ofstream begin_svg(const char* function, const std::filesystem::path& path, int width,
                        int height);

/// Closes the `<svg>` element begun by begin_svg() and flushes; throws std::runtime_error
/// naming `function` and the path when the file could not be written.
void end_svg(std::ofstream& svg, const char* function, const std::filesystem::path& path);

/// `<text>` at (x, y) with the given extra attributes (e.g. `text-anchor="middle"`), its
/// text escaped.
void svg_text(std::ostream& svg, double x, double y, const std::string& text,
              const std::string& attributes = "");

/// About how many px `text` takes in the book's figure font (DejaVu Sans) at `font_size`
/// px, from typical widths of its characters: a figure lays out its labels with it, so
/// that a legend or a label fits where it is put, without a renderer to measure it. Errs on
/// the wide side.
double text_width(const std::string& text, double font_size, bool bold = false);

}  // namespace attn
