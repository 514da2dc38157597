#include "tools/qjson.h"

#include <array>
#include <cstdio>
#include <list>

namespace dk::tools {

using nlohmann::ordered_json;

namespace {

constexpr uint32_t kQDictBuckets = 512;

void append_scalar(std::string& out, const ordered_json& v) {
  switch (v.type()) {
    case ordered_json::value_t::null: out += "null"; break;
    case ordered_json::value_t::boolean: out += v.get<bool>() ? "true" : "false"; break;
    case ordered_json::value_t::number_integer: out += std::to_string(v.get<int64_t>()); break;
    case ordered_json::value_t::number_unsigned: out += std::to_string(v.get<uint64_t>()); break;
    case ordered_json::value_t::number_float: {
      char buf[64];
      std::snprintf(buf, sizeof buf, "%.17g", v.get<double>());
      out += buf;
      break;
    }
    case ordered_json::value_t::string: out += qjson_quote(v.get_ref<const std::string&>()); break;
    default: out += v.dump(); break;
  }
}

void newline_indent(std::string& out, int depth) {
  out += '\n';
  out.append(static_cast<size_t>(depth) * 4, ' ');
}

void append_pretty(std::string& out, const ordered_json& v, int depth) {
  if (v.is_object()) {
    out += '{';
    bool first = true;
    for (const std::string& key : qdict_key_order(v)) {
      if (!first) out += ',';
      first = false;
      newline_indent(out, depth + 1);
      out += qjson_quote(key);
      out += ": ";
      append_pretty(out, v.at(key), depth + 1);
    }
    newline_indent(out, depth);
    out += '}';
  } else if (v.is_array()) {
    out += '[';
    bool first = true;
    for (const ordered_json& elem : v) {
      if (!first) out += ',';
      first = false;
      newline_indent(out, depth + 1);
      append_pretty(out, elem, depth + 1);
    }
    newline_indent(out, depth);
    out += ']';
  } else {
    append_scalar(out, v);
  }
}

// Decodes one UTF-8 sequence at s[i]; returns the code point (or -1 for an
// invalid sequence) and advances i past what it consumed.
int32_t next_codepoint(std::string_view s, size_t& i) {
  auto c = static_cast<unsigned char>(s[i++]);
  if (c < 0x80) return c;
  int extra;
  int32_t cp;
  int32_t min;
  if ((c & 0xE0) == 0xC0) { extra = 1; cp = c & 0x1F; min = 0x80; }
  else if ((c & 0xF0) == 0xE0) { extra = 2; cp = c & 0x0F; min = 0x800; }
  else if ((c & 0xF8) == 0xF0) { extra = 3; cp = c & 0x07; min = 0x10000; }
  else return -1;
  for (int k = 0; k < extra; ++k) {
    if (i >= s.size() || (static_cast<unsigned char>(s[i]) & 0xC0) != 0x80) return -1;
    cp = (cp << 6) | (static_cast<unsigned char>(s[i++]) & 0x3F);
  }
  if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return -1;
  return cp;
}

std::string scalar_human(const ordered_json& v) {
  if (v.is_string()) return v.get<std::string>();
  std::string out;
  append_scalar(out, v);
  return out;
}

void append_human(std::string& out, const ordered_json& v, int indentation);

void append_human_entry(std::string& out, const std::string& label, const ordered_json& v,
                        int indentation) {
  bool composite = v.is_object() || v.is_array();
  out.append(static_cast<size_t>(indentation) * 4, ' ');
  out += label;
  out += ':';
  out += composite ? '\n' : ' ';
  append_human(out, v, indentation + 1);
}

void append_human(std::string& out, const ordered_json& v, int indentation) {
  if (v.is_object()) {
    for (const std::string& key : qdict_key_order(v)) {
      std::string label = key;
      for (char& c : label)
        if (c == '-') c = ' ';
      append_human_entry(out, label, v.at(key), indentation);
    }
  } else if (v.is_array()) {
    int i = 0;
    for (const ordered_json& elem : v)
      append_human_entry(out, "[" + std::to_string(i++) + "]", elem, indentation);
  } else {
    out += scalar_human(v);
    out += '\n';
  }
}

}  // namespace

uint32_t qdict_hash(std::string_view key) {
  uint32_t value = 0x238F13AFu * static_cast<uint32_t>(key.size());
  for (size_t i = 0; i < key.size(); ++i)
    value += static_cast<uint32_t>(static_cast<unsigned char>(key[i])) << (i * 5 % 24);
  return 1103515243u * value + 12345u;
}

std::vector<std::string> qdict_key_order(const ordered_json& obj) {
  // Each bucket is a list with the newest key at the front, like QLIST_INSERT_HEAD.
  std::array<std::list<std::string>, kQDictBuckets> buckets;
  for (const auto& item : obj.items())
    buckets[qdict_hash(item.key()) % kQDictBuckets].push_front(item.key());
  std::vector<std::string> keys;
  keys.reserve(obj.size());
  for (const auto& bucket : buckets)
    for (const std::string& key : bucket) keys.push_back(key);
  return keys;
}

std::string to_qjson_pretty(const ordered_json& value) {
  std::string out;
  append_pretty(out, value, 0);
  return out;
}

std::string qjson_quote(std::string_view text) {
  std::string out = "\"";
  char buf[16];
  for (size_t i = 0; i < text.size();) {
    int32_t cp = next_codepoint(text, i);
    switch (cp) {
      case '"': out += "\\\""; continue;
      case '\\': out += "\\\\"; continue;
      case '\b': out += "\\b"; continue;
      case '\f': out += "\\f"; continue;
      case '\n': out += "\\n"; continue;
      case '\r': out += "\\r"; continue;
      case '\t': out += "\\t"; continue;
      default: break;
    }
    if (cp < 0) cp = 0xFFFD;
    if (cp > 0xFFFF) {
      std::snprintf(buf, sizeof buf, "\\u%04X\\u%04X", 0xD800 + ((cp - 0x10000) >> 10),
                    0xDC00 + ((cp - 0x10000) & 0x3FF));
      out += buf;
    } else if (cp < 0x20 || cp >= 0x7F) {
      std::snprintf(buf, sizeof buf, "\\u%04X", cp);
      out += buf;
    } else {
      out += static_cast<char>(cp);
    }
  }
  out += '"';
  return out;
}

std::string to_qhuman(const ordered_json& value, int indentation) {
  std::string out;
  append_human(out, value, indentation);
  return out;
}

}  // namespace dk::tools
