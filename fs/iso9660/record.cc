// Directory records and dates (ECMA-119 9.1, 8.4.26.1).
#include "fs/iso9660/format.h"

namespace dk::fs::iso {
namespace {

// Days since 1970-01-01 of a proleptic Gregorian date (month 1..12).
int64_t days_from_civil(int64_t y, int64_t m, int64_t d) {
  y -= m <= 2;
  const int64_t era = (y >= 0 ? y : y - 399) / 400;
  const int64_t yoe = y - era * 400;
  const int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  const int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + doe - 719468;
}

int64_t unix_time(int64_t year, int64_t month, int64_t day, int64_t hour, int64_t minute,
                  int64_t second, int8_t offset) {
  if (month < 1) month = 1;
  if (month > 12) month = 12;
  int64_t t = days_from_civil(year, month, 1) * 86400 + (day - 1) * 86400 + hour * 3600 +
              minute * 60 + second;
  // The offset counts 15-minute units from GMT; Linux ignores values beyond
  // +-13 hours as garbage, and so do we.
  if (offset >= -52 && offset <= 52) t -= int64_t{offset} * 15 * 60;
  return t;
}

int digits(const uint8_t* p, int n) {
  int v = 0;
  for (int i = 0; i < n; ++i) {
    if (p[i] < '0' || p[i] > '9') return -1;
    v = v * 10 + (p[i] - '0');
  }
  return v;
}

}  // namespace

std::optional<Record> parse_record(std::span<const uint8_t> buf) {
  if (buf.empty() || buf[0] == 0) return std::nullopt;
  Record r;
  r.length = buf[0];
  if (r.length < kMinRecordSize - 1 || r.length > buf.size()) return std::nullopt;
  const uint8_t* p = buf.data();
  r.ext_attr_length = p[1];
  r.extent = both32(p + 2);
  r.data_length = both32(p + 10);
  r.date = p + 18;
  r.flags = p[25];
  r.unit_size = p[26];
  r.gap_size = p[27];
  size_t name_len = p[32];
  if (name_len == 0 || 33 + name_len > r.length) return std::nullopt;
  r.name = buf.subspan(33, name_len);
  size_t su = 33 + name_len + (name_len % 2 == 0 ? 1 : 0);  // pad byte after an even-length id
  if (su > r.length) su = r.length;
  r.system_use = buf.subspan(su, r.length - su);
  return r;
}

Timespec record_time(const uint8_t* d) {
  Timespec t;
  t.sec = unix_time(1900 + int64_t{d[0]}, d[1], d[2], d[3], d[4], d[5], static_cast<int8_t>(d[6]));
  return t;
}

std::optional<Timespec> long_time(const uint8_t* d) {
  int year = digits(d, 4), month = digits(d + 4, 2), day = digits(d + 6, 2), hour = digits(d + 8, 2),
      minute = digits(d + 10, 2), second = digits(d + 12, 2), hundredths = digits(d + 14, 2);
  if (year < 0 || month < 0 || day < 0 || hour < 0 || minute < 0 || second < 0 || hundredths < 0)
    return std::nullopt;
  if (year == 0 && month == 0 && day == 0) return std::nullopt;  // "not specified"
  Timespec t;
  t.sec = unix_time(year, month, day, hour, minute, second, static_cast<int8_t>(d[16]));
  t.nsec = static_cast<uint32_t>(hundredths) * 10000000u;
  return t;
}

}  // namespace dk::fs::iso
