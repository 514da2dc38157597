// Images we create and write must pass `qemu-img check` and read back the
// same through qemu-img.
#include "tests/formats/qcow2/helpers.h"

namespace dk::fmt::qcow2test {
namespace {

std::string err_of(const Result<void>& r) { return r ? std::string() : r.error().message; }

void create_img(const std::string& path, uint64_t size, std::map<std::string, std::string> opts,
                const std::string& backing = "", const std::string& bfmt = "") {
  CreateSpec s;
  s.size = size;
  s.options = std::move(opts);
  s.backing_file = backing;
  s.backing_format = bfmt;
  auto r = kQcow2Driver.create(path, s);
  ASSERT_TRUE(r) << err_of(r);
}

// Random writes, zero writes, discards and compressed writes against a model.
void exercise(Layer& l, std::vector<std::byte>& model, uint32_t seed, bool v3) {
  std::mt19937 rng(seed);
  const uint64_t size = l.size();
  const uint64_t cs = *l.cluster_size();
  for (int i = 0; i < 60; ++i) {
    uint64_t off = rng() % size;
    uint64_t len = std::min<uint64_t>(size - off, 1 + rng() % (3 * cs + 1000));
    int op = rng() % 10;
    if (op < 6) {
      auto data = pattern(len, rng());
      ASSERT_TRUE(l.write(off, data)) << "write";
      std::memcpy(model.data() + off, data.data(), len);
    } else if (op < 8) {
      auto r = l.write_zeroes(off, len, op == 7);
      ASSERT_TRUE(r) << err_of(r);
      std::memset(model.data() + off, 0, len);
    } else if (op == 8) {
      uint64_t c = (rng() % (size / cs)) * cs;
      uint64_t n = std::min<uint64_t>(cs, size - c);
      auto data = pattern(n, rng());
      for (size_t k = 0; k < n; k += 2) data[k] = std::byte{0};
      auto r = l.write_compressed(c, data);
      ASSERT_TRUE(r) << err_of(r);
      std::memcpy(model.data() + c, data.data(), n);
    } else {
      // Discard: contents become unspecified, re-sync the model from the image.
      ASSERT_TRUE(l.discard(off, len));
      std::vector<std::byte> tmp(len);
      ASSERT_TRUE(l.read(off, tmp));
      std::memcpy(model.data() + off, tmp.data(), len);
    }
  }
  (void)v3;
}

struct WCase {
  const char* name;
  std::map<std::string, std::string> opts;
};

TEST(Qcow2Write, CreateWriteCheck) {
  REQUIRE_QEMU();
  const WCase cases[] = {
      {"default", {}},
      {"v2", {{"compat", "0.10"}}},
      {"c512", {{"cluster_size", "512"}}},
      {"c4k-r1", {{"cluster_size", "4k"}, {"refcount_bits", "1"}}},
      {"c2m", {{"cluster_size", "2M"}}},
      {"r8", {{"refcount_bits", "8"}}},
      {"r64", {{"refcount_bits", "64"}}},
      {"lazy", {{"lazy_refcounts", "on"}}},
      {"extl2", {{"extended_l2", "on"}}},
      {"extl2-32k", {{"extended_l2", "on"}, {"cluster_size", "32k"}}},
      {"zstd", {{"compression_type", "zstd"}}},
      {"meta", {{"preallocation", "metadata"}}},
      {"falloc", {{"preallocation", "falloc"}}},
      {"full", {{"preallocation", "full"}, {"cluster_size", "4k"}}},
  };
  uint32_t seed = 1;
  for (const WCase& c : cases) {
    SCOPED_TRACE(c.name);
    TempDir d;
    std::string img = d / "w.qcow2";
    const uint64_t size = (6 << 20) + 512 * 3;
    create_img(img, size, c.opts);
    EXPECT_TRUE(qemu_check_clean(img)) << sh_out("qemu-img check " + img);
    std::vector<std::byte> model(size);
    {
      auto l = open_q(img, true);
      ASSERT_TRUE(l);
      exercise(*l, model, seed++, c.opts.count("compat") == 0);
      auto r = l->flush();
      ASSERT_TRUE(r) << err_of(r);
      EXPECT_SAME_BYTES(read_all(*l), model);
    }
    EXPECT_TRUE(qemu_check_clean(img)) << sh_out("qemu-img check " + img);
    EXPECT_SAME_BYTES(qemu_raw(img, d.path()), model);
  }
}

TEST(Qcow2Write, BackingAndSnapshotCow) {
  REQUIRE_QEMU();
  TempDir d;
  std::string base = d / "base.qcow2", top = d / "top.qcow2";
  ASSERT_EQ(sh("qemu-img create -q -f qcow2 " + base + " 4M"), 0);
  ASSERT_EQ(sh("qemu-io -c 'write -P 0x55 0 4M' " + base + " >/dev/null"), 0);
  for (const char* ext : {"off", "on"}) {
    SCOPED_TRACE(ext);
    create_img(top, 4 << 20, {{"extended_l2", ext}}, "base.qcow2", "qcow2");
    std::vector<std::byte> model(4 << 20, std::byte{0x55});
    {
      auto l = open_q(top, true);
      ASSERT_TRUE(l);
      l->set_backing(open_q(base));
      exercise(*l, model, 99, true);
      ASSERT_TRUE(l->flush());
      EXPECT_SAME_BYTES(read_all(*l), model);
    }
    EXPECT_TRUE(qemu_check_clean(top)) << sh_out("qemu-img check " + top);
    EXPECT_SAME_BYTES(qemu_raw(top, d.path()), model);
    // Snapshot COW: take a snapshot with qemu-img, write through us, both views stay right.
    ASSERT_EQ(sh("qemu-img snapshot -c s1 " + top), 0);
    auto before = model;
    {
      auto l = open_q(top, true);
      ASSERT_TRUE(l);
      l->set_backing(open_q(base));
      exercise(*l, model, 7, true);
      ASSERT_TRUE(l->flush());
    }
    EXPECT_TRUE(qemu_check_clean(top)) << sh_out("qemu-img check " + top);
    EXPECT_SAME_BYTES(qemu_raw(top, d.path()), model);
    ASSERT_EQ(sh("qemu-img convert -U -O raw -l snapshot.name=s1 " + top + " " + d / "s1.raw"), 0);
    EXPECT_SAME_BYTES(read_file(d / "s1.raw"), before);
    ASSERT_EQ(sh("qemu-img snapshot -d s1 " + top), 0);
    EXPECT_TRUE(qemu_check_clean(top)) << sh_out("qemu-img check " + top);
  }
}

TEST(Qcow2Write, InfoMatchesQemu) {
  REQUIRE_QEMU();
  const std::vector<std::map<std::string, std::string>> opts = {
      {},
      {{"compat", "0.10"}},
      {{"lazy_refcounts", "on"}, {"extended_l2", "on"}, {"compression_type", "zstd"}, {"refcount_bits", "8"}},
      {{"data_file", "d.raw"}},
      {{"data_file", "d.raw"}, {"data_file_raw", "on"}},
  };
  for (auto o : opts) {
    TempDir d;
    if (o.count("data_file")) o["data_file"] = d / "d.raw";
    std::string img = d / "i.qcow2";
    create_img(img, 1 << 30, o);
    std::string q = sh_out("qemu-img info --output=json " + img);
    auto j = nlohmann::ordered_json::parse(q);
    auto l = open_q(img);
    ASSERT_TRUE(l);
    EXPECT_EQ(l->format_specific().dump(), j["format-specific"]["data"].dump());
    EXPECT_EQ(l->size(), j["virtual-size"].get<uint64_t>());
    l.reset();
    EXPECT_TRUE(qemu_check_clean(img)) << sh_out("qemu-img check " + img);
    // And the same options through qemu-img give the same "data".
    std::string cmd = "qemu-img create -q -f qcow2 ";
    std::string os;
    for (auto& [k, v] : o) os += (os.empty() ? "" : ",") + k + "=" + v;
    if (!os.empty()) cmd += "-o " + os + " ";
    ASSERT_EQ(sh(cmd + d / "q.qcow2 1G"), 0);
    auto jq = nlohmann::ordered_json::parse(sh_out("qemu-img info --output=json " + d / "q.qcow2"));
    EXPECT_EQ(jq["format-specific"]["data"].dump(), j["format-specific"]["data"].dump());
  }
}

}  // namespace
}  // namespace dk::fmt::qcow2test

namespace dk::fmt::qcow2test {
namespace {

TEST(Qcow2DataFile, ReadAndWriteExternalDataFile) {
  REQUIRE_QEMU();
  for (const char* raw : {"off", "on"}) {
    SCOPED_TRACE(raw);
    TempDir d;
    std::string img = d / "x.qcow2", data = d / "x.raw";
    ASSERT_EQ(sh("qemu-img create -q -f qcow2 -o data_file=" + data + ",data_file_raw=" + raw + " " + img + " 4M"), 0);
    ASSERT_EQ(sh("qemu-io -c 'write -P 0x21 1000 100000' -c 'write -z 200000 70000' " + img + " >/dev/null"), 0);
    auto want = qemu_raw(img, d.path());
    {
      auto l = open_q(img, true);
      ASSERT_TRUE(l);
      EXPECT_SAME_BYTES(read_all(*l), want);
      auto p = pattern(150000, 8);
      ASSERT_TRUE(l->write(3000000, p));
      std::memcpy(want.data() + 3000000, p.data(), p.size());
      ASSERT_TRUE(l->write_zeroes(1024, 4096, false));
      std::memset(want.data() + 1024, 0, 4096);
      EXPECT_FALSE(l->write_compressed(0, std::vector<std::byte>(65536)));
      ASSERT_TRUE(l->flush());
      auto st = l->block_status(3000000, 1000);
      ASSERT_TRUE(st);
      EXPECT_EQ(st->file, data);
    }
    EXPECT_TRUE(qemu_check_clean(img)) << sh_out("qemu-img check " + img);
    EXPECT_SAME_BYTES(qemu_raw(img, d.path()), want);
    if (std::string(raw) == "on") {
      // The data file itself is the guest image.
      auto r = read_file(data);
      EXPECT_TRUE(std::equal(want.begin() + 3000000, want.begin() + 3150000, r.begin() + 3000000));
    }
  }
}

}  // namespace
}  // namespace dk::fmt::qcow2test
