// The guestfish command-line grammar, without any I/O: one input line
// becomes a command name and its arguments. Rules (guestfish 1.48's):
//   - leading blanks are skipped; an empty line or one starting with '#'
//     is no command;
//   - a leading '-' (repeatable) means "do not exit on this command's error";
//   - '!' runs the rest of the line with the shell, "<!" runs it and reads
//     its output as commands;
//   - the command name is the first blank-separated word (never quoted);
//   - an argument is a bare word, '…' (taken literally) or "…" with C
//     escapes (\n \t \\ \" \ooo with three octal digits, \xHH, ...); a
//     quoted argument must be followed by a blank or the end of the line;
//   - a bare word starting with '~' is a candidate for home directory
//     expansion;
//   - an argument starting with '|' ends the arguments: the rest of the
//     line is a shell command that receives the output.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "formats/core/error.h"

namespace dk::tools::fish {

inline constexpr size_t kMaxArgs = 64;  // guestfish's argv limit

struct ParsedLine {
  enum class Kind : uint8_t { Empty, Command, Shell, ShellInline };
  Kind kind = Kind::Empty;
  bool exit_on_error = true;     // false when the line starts with '-'
  std::string command;           // Command: the name; Shell/ShellInline: the shell text
  std::vector<std::string> args;
  std::vector<bool> tilde;       // per argument: a bare word starting with '~'
  std::string pipe;              // "| cmd": shell command fed with the output
};

// Parses one line (without its newline). Errors (EINVAL) carry guestfish's
// messages: "unterminated double quote", "invalid escape sequence in string
// (starting at offset N)", "command arguments not separated by whitespace",
// "too many arguments".
Result<ParsedLine> parse_line(std::string_view line);

// Decodes the body of a double-quoted string (after the opening quote);
// returns the decoded text and sets `consumed` to the offset of the closing
// quote. EINVAL for a bad escape or a missing closing quote.
Result<std::string> parse_double_quoted(std::string_view s, size_t& consumed);

// Integer arguments: decimal, 0x hex or 0 octal, with gnulib xstrtol's
// suffixes (k/K = 1024, M, G, T, P, E; "KiB" = 1024, "KB" = 1000, ...).
// ERANGE on overflow, EINVAL otherwise; `what` names the parameter.
Result<int64_t> parse_integer(std::string_view s, std::string_view what);

// guestfish booleans: true/false, yes/no, on/off, 1/0 (any case).
// EINVAL "'x': invalid boolean value, use 'true' or 'false'".
Result<bool> parse_bool(std::string_view s);

// guestfish's string-list arguments (tar-out excludes:'a b'): split at
// blanks, single quotes group, \' is a literal quote. EINVAL for a runaway quote.
Result<std::vector<std::string>> parse_string_list(std::string_view s);

}  // namespace dk::tools::fish
