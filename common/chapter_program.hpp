/// \file
/// \brief What every chapter program shares: its options, its help and its error handling.
#pragma once

#include <filesystem>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

namespace attn {

/// An option of one chapter's program besides `--figures` and `--help`, given as
/// `--name VALUE` or `--name=VALUE`.
struct ChapterOption {
    std::string name;        ///< without the dashes, e.g. "checkpoint"
    std::string value_name;  ///< shown in the help, e.g. "FILE"
    std::string help;        ///< one line for `--help`
    std::string value;       ///< the default; after parsing, what was given
    bool given = false;      ///< whether the command line set it
};

/// Runs a chapter's walk-through. Reads the options (`--figures DIR` or `--figures=DIR`,
/// `--help`), calls `body` with the directory for the SVG figures (by default `figures/`
/// in the build tree, so a program run from the repository root leaves it clean), and
/// turns an exception into a message on stderr and exit status 1. Unknown options, and a
/// figures directory whose parent does not exist, give a message and status 2. When
/// `body` wrote or rewrote a file in the figures directory, the directory is named on
/// stderr at the end.
/// \param argc, argv the program's arguments
/// \param description one or two lines for `--help`
/// \param body the walk-through
/// \return the program's exit status
int run_chapter(int argc, char** argv, std::string_view description,
                const std::function<void(const std::filesystem::path& figures)>& body);

/// run_chapter() for a program with options of its own: they are read into `options`
/// before `body` runs, and listed by `--help`.
int run_chapter(int argc, char** argv, std::string_view description,
                std::vector<ChapterOption>& options,
                const std::function<void(const std::filesystem::path& figures)>& body);

}  // namespace attn
