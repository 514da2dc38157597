// Human-readable output pieces shared by the image commands, laid out as
// qemu-img 7.2 prints them.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "formats/chain.h"
#include "formats/core/error.h"
#include "formats/layer.h"

namespace dk::tools {

// QEMU's size_to_str(): three significant digits and a binary unit, switching
// to the next unit once the number would reach 1000 ("0 B", "196 KiB",
// "1.29 MiB", "0.977 KiB" for 1000 bytes, "1 GiB").
std::string size_to_str(uint64_t bytes);

// The header line of qemu-img's snapshot table (no newline).
std::string snapshot_table_header();
// One row of the snapshot table (no newline); the date is in local time.
std::string snapshot_table_row(const fmt::SnapshotInfo& sn);

// How `create` prints one -o option in its "Formatting ..." line.
enum class OptKind : uint8_t { Str, Size, Num, Bool };

struct CreateOptSpec {
  std::string_view name;
  OptKind kind;
  std::string_view default_value;  // printed when the option is not given; empty: skip
};

// The options of `format` in the order qemu-img 7.2 prints them in its
// "Formatting" line (the driver's list, then the host-file protocol's), or
// nullopt when the format is not one qemu-img knows.
std::optional<std::vector<CreateOptSpec>> qemu_create_print_order(std::string_view format);

// True when qemu-img lists `name` for `format` only as an option of the
// host-file protocol (shown by `create -o help` only when a file is named).
bool is_qemu_protocol_option(std::string_view format, std::string_view name);

// The kind of a driver OptionDesc type name ("str", "size", "bool", "num").
OptKind opt_kind_from_type(std::string_view type);

// The "Formatting 'FILE', fmt=FMT k=v ..." line (no newline). `given` holds
// the options as typed (size/num values already validated); size and number
// options print as their parsed value, strings with ',' doubled.
Result<std::string> formatting_line(std::string_view filename, std::string_view format,
                                    const std::vector<CreateOptSpec>& order,
                                    const std::map<std::string, std::string>& given);

// Parses an option value of the given kind the way QEMU's -o parser does;
// the error message is QEMU's ("Parameter 'x' expects a number").
Result<uint64_t> parse_number_option(std::string_view key, std::string_view value, OptKind kind);

// ---- qemu-img map ----

// True when `next` continues `cur` in map output: same zero/data/depth/
// present flags, both with or without a host offset (in the same file), and
// the host offsets contiguous. An empty `cur` never merges.
bool map_entries_mergeable(const fmt::MapEntry& cur, const fmt::MapEntry& next);

// The map header for human output (with newline); empty for JSON.
std::string map_header(bool json);

// One map entry as qemu-img 7.2 prints it, appended to `out`. JSON: one
// "{ ... }" object followed by ",\n" when `next` is given. Human: a row for
// data that is not zero; it then folds `next` into "zero" when it is not
// plain data so zero and unallocated ranges coalesce. Errors on data
// without a host offset (compressed, encrypted or external clusters).
Result<void> map_dump_entry(bool json, const fmt::MapEntry& e, fmt::MapEntry* next, std::string& out);

}  // namespace dk::tools
