/// \file
/// \brief What the SVG writers (heatmap, plot) share: opening the file, escaping text.
#pragma once

#include <filesystem>
#include <fstream>
#include <string>

namespace attn {

/// `s` with the characters XML gives a meaning (& < > ") escaped.
std::string xml_escape(const std::string& s);

/// Opens `path` for writing, creating its parent directory if needed. Throws
/// std::runtime_error naming `function` and the path when it cannot.
std::ofstream open_svg(const char* function, const std::filesystem::path& path);

}  // namespace attn
