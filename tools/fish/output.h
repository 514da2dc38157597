// Printing results the way guestfish prints each return type: string lists
// one per line, hash tables as "key: value", booleans as true/false,
// structs as "field: value" lines and struct lists as "[N] = {" blocks.
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "formats/core/error.h"

namespace dk::tools::fish {

using Fields = std::vector<std::pair<std::string, std::string>>;

void print_strings(const std::vector<std::string>& v);
void print_table(const std::vector<std::pair<std::string, std::string>>& kv);
void print_bool(bool b);
void print_int(int64_t v);
// RString: the text and a newline.
void print_string(const std::string& s);
// RBufferOut: the bytes as they are.
Result<void> print_buffer(const std::string& s);
// One struct ("name: value" lines, indented) and a struct list.
void print_struct(const Fields& f, const char* indent = "");
void print_struct_list(const std::vector<Fields>& list);

// hexdump -C of a buffer (offset column, 16 bytes in two groups, |ascii|,
// '*' for repeated lines, the final offset line).
std::string hexdump_c(const std::string& data);

// gnulib human_readable with autoscale, base 1024, SI suffixes and
// rounding up (coreutils df -h): "512", "1.1K", "20M".
std::string human_ceiling(uint64_t bytes);

}  // namespace dk::tools::fish
