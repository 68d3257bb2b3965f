#include "common/chapter_program.hpp"

#include <exception>
#include <iostream>
#include <stdexcept>
#include <string>

namespace attn {

namespace {

int usage(const char* program, std::string_view description, int status) {
    (status == 0 ? std::cout : std::cerr)
        << "usage: " << program << " [--figures DIR]\n\n"
        << description << "\n\n"
        << "  --figures DIR  write the SVG figures to DIR, whose parent must exist\n"
        << "                 (default: " << ATTN_DEFAULT_FIGURES_DIR << ")\n"
        << "  --help         show this help\n\n"
        << "Colour is used when the output is a terminal and NO_COLOR is not set.\n";
    return status;
}

// The figures directory, created if need be; only its last component is created, so a
// mistyped path is reported instead of silently becoming a tree of new directories.
std::filesystem::path prepare_figures(const std::filesystem::path& dir) {
    std::error_code error;
    if (std::filesystem::is_directory(dir, error)) return dir;
    const std::filesystem::path parent =
        dir.has_parent_path() ? dir.parent_path() : std::filesystem::path(".");
    if (!std::filesystem::is_directory(parent, error)) {
        throw std::invalid_argument("--figures " + dir.string() + ": the parent directory " +
                                    parent.string() + " does not exist");
    }
    if (!std::filesystem::create_directory(dir, error) && error) {
        throw std::invalid_argument("--figures " + dir.string() +
                                    ": cannot create it: " + error.message());
    }
    return dir;
}

}  // namespace

int run_chapter(int argc, char** argv, std::string_view description,
                const std::function<void(const std::filesystem::path& figures)>& body) {
    std::filesystem::path figures = ATTN_DEFAULT_FIGURES_DIR;
    for (int i = 1; i < argc; ++i) {
        const std::string_view arg = argv[i];
        if (arg == "--help" || arg == "-h") return usage(argv[0], description, 0);
        if (arg == "--figures" && i + 1 < argc) {
            figures = argv[++i];
        } else if (arg.rfind("--figures=", 0) == 0 && arg.size() > 10) {
            figures = arg.substr(10);
        } else {
            std::cerr << argv[0] << ": unknown or incomplete option '" << arg << "'\n\n";
            return usage(argv[0], description, 2);
        }
    }
    try {
        figures = prepare_figures(figures);
    } catch (const std::exception& e) {
        std::cerr << argv[0] << ": " << e.what() << '\n';
        return 2;
    }
    try {
        body(figures);
    } catch (const std::exception& e) {
        std::cout.flush();
        std::cerr << argv[0] << ": " << e.what() << '\n';
        return 1;
    }
    std::cout.flush();
    std::cerr << "(figures: " << figures.string() << ")\n";
    return 0;
}

}  // namespace attn
