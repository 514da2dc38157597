#include "tools/fish/tokenize.h"

#include <cctype>
#include <cerrno>
#include <climits>
#include <cstdlib>

namespace dk::tools::fish {
namespace {

bool is_blank(char c) { return c == ' ' || c == '\t'; }

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

bool is_octal(char c) { return c >= '0' && c <= '7'; }

tl::unexpected<Error> bad_escape(size_t offset) {
  return make_error(EINVAL, "invalid escape sequence in string (starting at offset " +
                                std::to_string(offset) + ")");
}

}  // namespace

Result<std::string> parse_double_quoted(std::string_view s, size_t& consumed) {
  std::string out;
  size_t i = 0;
  for (; i < s.size() && s[i] != '"'; ++i) {
    if (s[i] != '\\') {
      out += s[i];
      continue;
    }
    char e = i + 1 < s.size() ? s[i + 1] : '\0';
    switch (e) {
      case '\\': out += '\\'; break;
      case 'a': out += '\a'; break;
      case 'b': out += '\b'; break;
      case 'f': out += '\f'; break;
      case 'n': out += '\n'; break;
      case 'r': out += '\r'; break;
      case 't': out += '\t'; break;
      case 'v': out += '\v'; break;
      case '"': out += '"'; break;
      case '\'': out += '\''; break;
      case '?': out += '?'; break;
      case '0': case '1': case '2': case '3': case '4': case '5': case '6': case '7': {
        // Always three octal digits; NUL cannot be passed (C strings).
        if (i + 3 >= s.size() || !is_octal(s[i + 2]) || !is_octal(s[i + 3])) return bad_escape(out.size());
        int c = (e - '0') * 64 + (s[i + 2] - '0') * 8 + (s[i + 3] - '0');
        if (c < 1 || c > 255) return bad_escape(out.size());
        out += static_cast<char>(c);
        i += 2;
        break;
      }
      case 'x': {
        if (i + 3 >= s.size() || hex_value(s[i + 2]) < 0 || hex_value(s[i + 3]) < 0)
          return bad_escape(out.size());
        int c = hex_value(s[i + 2]) * 16 + hex_value(s[i + 3]);
        if (c < 1) return bad_escape(out.size());
        out += static_cast<char>(c);
        i += 2;
        break;
      }
      default:
        return bad_escape(out.size());
    }
    ++i;  // the escape letter
  }
  if (i >= s.size()) return make_error(EINVAL, "unterminated double quote");
  consumed = i;
  return out;
}

Result<ParsedLine> parse_line(std::string_view line) {
  ParsedLine p;
  size_t i = 0;
  for (;;) {
    while (i < line.size() && std::isspace(static_cast<unsigned char>(line[i]))) ++i;
    if (i >= line.size() || line[i] == '#') return p;
    if (line[i] == '!') {
      p.kind = ParsedLine::Kind::Shell;
      p.command = std::string(line.substr(i + 1));
      return p;
    }
    if (line.substr(i, 2) == "<!") {
      p.kind = ParsedLine::Kind::ShellInline;
      p.command = std::string(line.substr(i + 2));
      return p;
    }
    if (line[i] != '-') break;
    p.exit_on_error = false;
    ++i;
  }
  size_t end = i;
  while (end < line.size() && !is_blank(line[end])) ++end;
  if (end == i) return p;
  p.kind = ParsedLine::Kind::Command;
  p.command = std::string(line.substr(i, end - i));
  i = end;
  while (i < line.size() && is_blank(line[i])) ++i;
  auto separated = [&](size_t after) {
    return after >= line.size() || is_blank(line[after]);
  };
  while (i < line.size()) {
    if (p.args.size() >= kMaxArgs - 1) return make_error(EINVAL, "too many arguments");
    char c = line[i];
    bool tilde = false;
    if (c == '"') {
      size_t consumed = 0;
      std::string arg = DK_TRY(parse_double_quoted(line.substr(i + 1), consumed));
      size_t close = i + 1 + consumed;
      if (!separated(close + 1)) return make_error(EINVAL, "command arguments not separated by whitespace");
      p.args.push_back(std::move(arg));
      i = close + 1;
    } else if (c == '\'') {
      size_t close = line.find('\'', i + 1);
      if (close == std::string_view::npos) return make_error(EINVAL, "unterminated single quote");
      if (!separated(close + 1)) return make_error(EINVAL, "command arguments not separated by whitespace");
      p.args.emplace_back(line.substr(i + 1, close - i - 1));
      i = close + 1;
    } else if (c == '|') {
      p.pipe = std::string(line.substr(i + 1));
      break;
    } else {
      tilde = c == '~';
      size_t e = i;
      while (e < line.size() && !is_blank(line[e])) ++e;
      p.args.emplace_back(line.substr(i, e - i));
      i = e;
    }
    p.tilde.resize(p.args.size(), false);
    p.tilde.back() = tilde;
    while (i < line.size() && is_blank(line[i])) ++i;
  }
  p.tilde.resize(p.args.size(), false);
  return p;
}

Result<int64_t> parse_integer(std::string_view s, std::string_view what) {
  auto invalid = [&] {
    return make_error(EINVAL, std::string(what) + ": invalid integer parameter '" + std::string(s) + "'");
  };
  std::string str(s);
  if (str.empty() || std::isspace(static_cast<unsigned char>(str[0]))) return invalid();
  errno = 0;
  char* end = nullptr;
  long long v = std::strtoll(str.c_str(), &end, 0);
  if (end == str.c_str()) return invalid();
  if (errno == ERANGE) return make_error(ERANGE, std::string(what) + ": integer out of range");
  std::string suffix(end);
  if (suffix.empty()) return static_cast<int64_t>(v);
  static const std::string kLetters = "kKMGTPEZY";
  size_t pos = kLetters.find(suffix[0]);
  if (pos == std::string::npos) return invalid();
  int power = pos <= 1 ? 1 : static_cast<int>(pos);
  std::string rest = suffix.substr(1);
  int64_t base = 1024;
  if (rest == "B" || rest == "D") base = 1000;
  else if (rest != "" && rest != "iB") return invalid();
  __int128 r = v;
  for (int k = 0; k < power; ++k) {
    r *= base;
    if (r > INT64_MAX || r < INT64_MIN) return make_error(ERANGE, std::string(what) + ": integer out of range");
  }
  return static_cast<int64_t>(r);
}

Result<bool> parse_bool(std::string_view s) {
  std::string l;
  for (char c : s) l += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (l == "true" || l == "t" || l == "yes" || l == "y" || l == "on" || l == "1") return true;
  if (l == "false" || l == "f" || l == "no" || l == "n" || l == "off" || l == "0") return false;
  return make_error(EINVAL, "'" + std::string(s) + "': invalid boolean value, use 'true' or 'false'");
}

Result<std::vector<std::string>> parse_string_list(std::string_view s) {
  std::vector<std::string> out;
  size_t i = 0;
  while (i < s.size()) {
    while (i < s.size() && is_blank(s[i])) ++i;
    if (i >= s.size()) break;
    std::string tok;
    bool in_quote = false;
    while (i < s.size() && (in_quote || !is_blank(s[i]))) {
      char c = s[i];
      if (c == '\\' && i + 1 < s.size() && s[i + 1] == '\'') {
        tok += '\'';
        i += 2;
      } else if (c == '\'') {
        in_quote = !in_quote;
        ++i;
      } else {
        tok += c;
        ++i;
      }
    }
    if (in_quote) return make_error(EINVAL, "Runaway quote in string \"" + std::string(s) + "\"");
    out.push_back(std::move(tok));
  }
  return out;
}

}  // namespace dk::tools::fish
