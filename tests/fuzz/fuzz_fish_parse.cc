// Fuzz target: the diskit fish command-line grammar (tools/fish/tokenize):
// each input line is parsed as a shell line, as a double-quoted string
// body, an integer with size suffixes, a boolean and a string list. The
// parser must never crash, hang or read out of bounds, and what it returns
// must be consistent (argument count capped, tilde flags per argument).
//
// The tokenizer lives in dk_tools, which fuzz targets do not link; it has no
// dependency beyond formats/core, so its one source file is compiled in.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "tools/fish/tokenize.cc"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view all(reinterpret_cast<const char*>(data), size);
  size_t start = 0;
  int lines = 0;
  while (start <= all.size() && lines++ < 64) {
    size_t nl = all.find('\n', start);
    std::string_view line = all.substr(start, nl == std::string_view::npos ? std::string_view::npos : nl - start);
    auto p = dk::tools::fish::parse_line(line);
    if (p) {
      if (p->args.size() >= dk::tools::fish::kMaxArgs) std::abort();
      if (p->tilde.size() != p->args.size()) std::abort();
      if (p->kind == dk::tools::fish::ParsedLine::Kind::Command && p->command.empty()) std::abort();
    }
    size_t consumed = 0;
    auto q = dk::tools::fish::parse_double_quoted(line, consumed);
    if (q && (consumed >= line.size() || line[consumed] != '"')) std::abort();
    (void)dk::tools::fish::parse_integer(line, "n");
    (void)dk::tools::fish::parse_bool(line);
    (void)dk::tools::fish::parse_string_list(line);
    if (nl == std::string_view::npos) break;
    start = nl + 1;
  }
  return 0;
}
