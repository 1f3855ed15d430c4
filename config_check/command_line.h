// Every process's command line parsed the same way, so that an operator meets
// the same conventions in each: --version; a --config file whose unknown keys
// (a misspelt setting, a stray line) are errors rather than settings silently
// lost; an unknown flag named as such (CLI11 reports a missing required flag
// first, which hides the typo that caused it); one exit code for usage errors.
#pragma once

#include <CLI/CLI.hpp>

#include <string>

namespace tandem {

inline constexpr int kUsageError = 2;

// The project's version, as --version prints it.
const char* version();

// Adds --version and makes --config's unknown keys errors; call before parse().
void standard_flags(CLI::App& app);

// What went wrong, for the operator: an unknown option or argument when there
// was one, whatever CLI11 would have said first.
std::string usage_error(const CLI::App& app, const CLI::ParseError& e);

// Parses argv. -1: go on; otherwise the exit code: 0 after --help or --version
// (printed), kUsageError after an error, printed to stderr as "PROGRAM: what"
// and `hint` (how to get the help) on a line of its own.
int parse_command_line(CLI::App& app, int argc, char** argv, const std::string& program,
                       const char* hint = "Run with --help for the options.");

}  // namespace tandem
