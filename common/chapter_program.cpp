#include "common/chapter_program.hpp"

#include <cstring>
#include <exception>
#include <iostream>

namespace attn {

namespace {

int usage(const char* program, std::string_view description, int status) {
    (status == 0 ? std::cout : std::cerr)
        << "usage: " << program << " [--figures DIR]\n\n"
        << description << "\n\n"
        << "  --figures DIR  write the SVG heatmaps to DIR (default: the current directory)\n"
        << "  --help         show this help\n\n"
        << "Colour is used when the output is a terminal and NO_COLOR is not set.\n";
    return status;
}

}  // namespace

int run_chapter(int argc, char** argv, std::string_view description,
                const std::function<void(const std::filesystem::path& figures)>& body) {
    std::filesystem::path figures = ".";
    for (int i = 1; i < argc; ++i) {
        if (std::strcmp(argv[i], "--help") == 0 || std::strcmp(argv[i], "-h") == 0)
            return usage(argv[0], description, 0);
        if (std::strcmp(argv[i], "--figures") == 0 && i + 1 < argc) {
            figures = argv[++i];
        } else {
            std::cerr << argv[0] << ": unknown or incomplete option '" << argv[i] << "'\n\n";
            return usage(argv[0], description, 2);
        }
    }
    try {
        body(figures);
    } catch (const std::exception& e) {
        std::cout.flush();
        std::cerr << argv[0] << ": " << e.what() << '\n';
        return 1;
    }
    return 0;
}

}  // namespace attn
