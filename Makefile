# The attention book: the commands a learner types.
#
#   make               install what is missing, build, run every chapter, build the book
#   make test          build and run the tests (exercise tests against the solutions)
#   make check         check your exercise answers, every chapter
#   make check CH=01   check one chapter
#   make book          build the book only
#   make bench         build and run the benchmarks (one thread), print medians and ratios
#   make sanitize      build and run the tests with AddressSanitizer and UBSan
#   make clang         build with clang and -Werror (CI's warning check)
#   make format        format the C++ sources with .clang-format
#   make clean         remove the build directories
#
# Everything here is a thin wrapper around CMake (see CMakePresets.json).

BUILD := build
CH ?=
PYTHON := python3

.PHONY: all test check book bench sanitize clang format format-check deps configure clean help

all: configure
	cmake --build $(BUILD)
	cmake --build $(BUILD) --target book
	@echo
	@echo "Chapter output:  $(BUILD)/book/output/"
	@echo "The book:        $(CURDIR)/$(BUILD)/book/html/index.html"

test: configure
	cmake --build $(BUILD)
	ctest --preset default

# check.py builds what a chapter's check needs and reports each exercise. It exits 1 when
# an exercise is not passing (2 when the check cannot run). Make would add its own
# "*** [Makefile: check] Error 1" line under the report, which a learner reads as a crash
# of the tool; so on failure the recipe ends make itself with SIGPIPE, the one signal that
# neither make nor the shell reports: `make check` then exits with status 141, silently.
check: configure
	@$(PYTHON) tests/check.py --build-dir $(BUILD) $(if $(CH),--chapter $(CH)) || kill -PIPE $$PPID

book: configure
	cmake --build $(BUILD) --target book
	@echo "The book: $(CURDIR)/$(BUILD)/book/html/index.html"

bench: configure
	cmake --build $(BUILD) --target benchmarks
	@OPENBLAS_NUM_THREADS=1 $(PYTHON) scripts/bench.py --build-dir $(BUILD)

sanitize: deps
	cmake --preset sanitize
	cmake --build build-sanitize
	ctest --preset sanitize

clang:
	@bash scripts/install-deps.sh clang
	cmake --preset clang -DATTN_WARNINGS_AS_ERRORS=ON
	cmake --build build-clang

SOURCES = $(shell git ls-files '*.cpp' '*.hpp' 2>/dev/null)

format:
	@bash scripts/install-deps.sh clang-format
	clang-format -i $(SOURCES)

format-check:
	@bash scripts/install-deps.sh clang-format
	@clang-format --dry-run --Werror $(SOURCES) && echo "formatting: all $(words $(SOURCES)) C++ files follow .clang-format"

# Installs the missing Debian packages (only those); quick when nothing is missing.
deps:
	@bash scripts/install-deps.sh

configure: deps
	@test -f $(BUILD)/build.ninja || cmake --preset default

clean:
	rm -rf build build-sanitize build-clang

help:
	@sed -n '2,14p' Makefile | sed 's/^# \{0,1\}//'
