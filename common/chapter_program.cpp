#include "common/chapter_program.hpp"

#include <algorithm>
#include <exception>
#include <iostream>
#include <map>
#include <stdexcept>
#include <string>

namespace attn {

namespace {

int usage(const char* program, std::string_view description,
          const std::vector<ChapterOption>& options, int status) {
    std::ostream& out = status == 0 ? std::cout : std::cerr;
    out << "usage: " << program;
    for (const ChapterOption& o : options) out << " [--" << o.name << ' ' << o.value_name << ']';
    out << " [--figures DIR]\n\n" << description << "\n\n";
    std::size_t width = 17;  // "  --figures DIR  "
    for (const ChapterOption& o : options)
        width = std::max(width, o.name.size() + o.value_name.size() + 7);
    const auto line = [&](std::string left, const std::string& help) {
        left.resize(width, ' ');
        out << left << help << '\n';
    };
    for (const ChapterOption& o : options) {
        std::string left = "  --", help = o.help;  // built with +=: GCC 12 warns wrongly on +
        left += o.name;
        left += ' ';
        left += o.value_name;
        if (!o.value.empty()) {
            help += " (default: ";
            help += o.value;
            help += ')';
        }
        line(left, help);
    }
    line("  --figures DIR", "write the SVG figures to DIR, whose parent must exist");
    std::string where = "(default: ";
    where += ATTN_DEFAULT_FIGURES_DIR;
    where += ')';
    line("", where);
    line("  --help", "show this help");
    out << '\n' << "Colour is used when the output is a terminal and NO_COLOR is not set.\n";
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

// The files in dir and when each was last written, to tell afterwards whether the
// program wrote any (a run that only reads, like chapter 08's with a checkpoint, writes
// none).
std::map<std::filesystem::path, std::filesystem::file_time_type> files_in(
    const std::filesystem::path& dir) {
    std::map<std::filesystem::path, std::filesystem::file_time_type> files;
    std::error_code error;
    for (const auto& entry : std::filesystem::directory_iterator(dir, error)) {
        if (entry.is_regular_file(error)) files[entry.path()] = entry.last_write_time(error);
    }
    return files;
}

}  // namespace

int run_chapter(int argc, char** argv, std::string_view description,
                const std::function<void(const std::filesystem::path& figures)>& body) {
    std::vector<ChapterOption> none;
    return run_chapter(argc, argv, description, none, body);
}

int run_chapter(int argc, char** argv, std::string_view description,
                std::vector<ChapterOption>& options,
                const std::function<void(const std::filesystem::path& figures)>& body) {
    std::filesystem::path figures = ATTN_DEFAULT_FIGURES_DIR;
    // `--name VALUE` or `--name=VALUE`; true when arg is that option, and its value is read.
    const auto read = [&](int& i, std::string_view arg, const std::string& name,
                          std::string& value) {
        const std::string flag = "--" + name;
        if (arg == flag && i + 1 < argc) {
            value = argv[++i];
            return true;
        }
        if (arg.rfind(flag + "=", 0) == 0 && arg.size() > flag.size() + 1) {
            value = arg.substr(flag.size() + 1);
            return true;
        }
        return false;
    };
    for (int i = 1; i < argc; ++i) {
        const std::string_view arg = argv[i];
        if (arg == "--help" || arg == "-h") return usage(argv[0], description, options, 0);
        std::string value;
        if (read(i, arg, "figures", value)) {
            figures = value;
            continue;
        }
        bool known = false;
        for (ChapterOption& o : options) {
            if (read(i, arg, o.name, o.value)) {
                o.given = known = true;
                break;
            }
        }
        if (!known) {
            std::cerr << argv[0] << ": unknown or incomplete option '" << arg << "'\n\n";
            return usage(argv[0], description, options, 2);
        }
    }
    try {
        figures = prepare_figures(figures);
    } catch (const std::exception& e) {
        std::cerr << argv[0] << ": " << e.what() << '\n';
        return 2;
    }
    const auto before = files_in(figures);
    try {
        body(figures);
    } catch (const std::exception& e) {
        std::cout.flush();
        std::cerr << argv[0] << ": " << e.what() << '\n';
        return 1;
    }
    std::cout.flush();
    if (files_in(figures) != before) std::cerr << "(figures: " << figures.string() << ")\n";
    return 0;
}

}  // namespace attn
