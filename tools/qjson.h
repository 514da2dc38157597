// JSON and "human" dumps laid out exactly as qemu-img 7.2 prints them.
//
// qemu-img converts its QAPI structs to a QDict and prints that. A QDict is
// a 512-bucket hash table: keys come out bucket by bucket (bucket =
// tdb_hash(key) % 512) and, within a bucket, newest insertion first. The
// input here is an ordered_json whose objects list their keys in the QAPI
// struct's field order (the insertion order); the printers reproduce the
// QDict order from that. Arrays keep their order.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

namespace dk::tools {

// QEMU's qdict hash (the TDB hash): unsigned 32-bit arithmetic.
uint32_t qdict_hash(std::string_view key);

// The keys of `obj` (an object) in the order a QDict built by inserting them
// in `obj`'s order iterates them.
std::vector<std::string> qdict_key_order(const nlohmann::ordered_json& obj);

// qobject_to_json_pretty(): 4-space indentation, "key": value, empty
// containers as "[" newline indent "]". No trailing newline.
std::string to_qjson_pretty(const nlohmann::ordered_json& value);

// A JSON string literal as QEMU's JSON writer quotes it (non-ASCII and
// control characters as \uXXXX, invalid UTF-8 as \uFFFD).
std::string qjson_quote(std::string_view text);

// dump_qobject(): the "Format specific information:" body of qemu-img info.
// Keys have '-' replaced by ' '; nested objects and lists indent by 4 per
// level, list items print as "[i]:". `indentation` is the starting level.
std::string to_qhuman(const nlohmann::ordered_json& value, int indentation);

}  // namespace dk::tools
