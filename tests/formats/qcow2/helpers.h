// Shared helpers for the qcow2 tests: temp dirs, qemu-img, whole-image reads.
#pragma once

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "formats/driver.h"

namespace dk::fmt {
extern const FormatDriver kQcow2Driver;
}

namespace dk::fmt::qcow2test {

inline bool have_qemu() {
  static int have = std::system("qemu-img --version >/dev/null 2>&1") == 0 ? 1 : 0;
  return have;
}

#define REQUIRE_QEMU() \
  if (have_qemu()) {\
  } else                                                   \
    GTEST_SKIP() << "qemu-img not installed"

inline int sh(const std::string& cmd) { return std::system(cmd.c_str()); }

inline std::string sh_out(const std::string& cmd) {
  std::string out;
  FILE* p = popen(cmd.c_str(), "r");
  if (!p) return out;
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, p)) > 0) out.append(buf, n);
  pclose(p);
  return out;
}

class TempDir {
 public:
  TempDir() {
    char tmpl[] = "/tmp/dk-qcow2-XXXXXX";
    m_path = mkdtemp(tmpl);
  }
  ~TempDir() { sh("rm -rf '" + m_path + "'"); }
  std::string operator/(const std::string& n) const { return m_path + "/" + n; }
  const std::string& path() const { return m_path; }

 private:
  std::string m_path;
};

inline std::vector<std::byte> read_file(const std::string& p) {
  std::ifstream f(p, std::ios::binary);
  std::vector<char> v((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
  std::vector<std::byte> out(v.size());
  if (!v.empty()) memcpy(out.data(), v.data(), v.size());
  return out;
}

inline std::unique_ptr<Layer> open_q(const std::string& p, bool writable = false,
                                     std::optional<std::string> snap = std::nullopt) {
  OpenOptions o;
  o.writable = writable;
  o.snapshot = snap;
  auto r = kQcow2Driver.open(p, o);
  EXPECT_TRUE(r) << (r ? "" : r.error().message);
  if (!r) return nullptr;
  return std::move(*r);
}

inline std::vector<std::byte> read_all(Layer& l) {
  std::vector<std::byte> out(l.size());
  auto r = l.read(0, out);
  EXPECT_TRUE(r) << (r ? "" : r.error().message);
  return out;
}

// qemu-img convert -O raw of the image (with its backing chain).
inline std::vector<std::byte> qemu_raw(const std::string& img, const std::string& dir) {
  std::string out = dir + "/qemu-raw.out";
  EXPECT_EQ(sh("qemu-img convert -U -O raw '" + img + "' '" + out + "'"), 0);
  auto v = read_file(out);
  unlink(out.c_str());
  return v;
}

inline bool qemu_check_clean(const std::string& img) {
  return sh("qemu-img check -q '" + img + "' >/dev/null 2>&1") == 0;
}

inline std::vector<std::byte> pattern(size_t n, uint32_t seed) {
  std::mt19937 rng(seed);
  std::vector<std::byte> v(n);
  for (auto& b : v) b = static_cast<std::byte>(rng() & 0xff);
  return v;
}

inline size_t first_diff(const std::vector<std::byte>& a, const std::vector<std::byte>& b) {
  size_t n = std::min(a.size(), b.size());
  for (size_t i = 0; i < n; ++i)
    if (a[i] != b[i]) return i;
  return a.size() == b.size() ? SIZE_MAX : n;
}

#define EXPECT_SAME_BYTES(a, b) EXPECT_EQ(::dk::fmt::qcow2test::first_diff(a, b), SIZE_MAX) << "sizes " << (a).size() << " " << (b).size()

}  // namespace dk::fmt::qcow2test
