#include "appliance/image/builder.h"

#include <dirent.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <fstream>
#include <sstream>

#include "appliance/image/contents.h"
#include "appliance/image/host_exec.h"
#include "appliance/image/recipe.h"

namespace dk::appliance {
namespace {

using nlohmann::json;

// Bump when the layout or /init changes so old caches rebuild.
constexpr int kRecipeVersion = 1;

bool exists(const std::string& p) {
  struct stat st {};
  return ::stat(p.c_str(), &st) == 0;
}

Result<std::string> slurp(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  if (!f) return errno_error("'" + path + "'");
  std::ostringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

Result<void> write_atomic(const std::string& path, std::string_view data) {
  std::string tmp = path + ".tmp";
  {
    std::ofstream f(tmp, std::ios::binary | std::ios::trunc);
    if (!f) return errno_error("'" + tmp + "'");
    f.write(data.data(), static_cast<std::streamsize>(data.size()));
    f.flush();
    if (!f) return errno_error("writing '" + tmp + "'");
  }
  if (::rename(tmp.c_str(), path.c_str()) != 0) return errno_error("'" + path + "'");
  return {};
}

Result<void> mkdirs(const std::string& dir) {
  std::string cur;
  std::istringstream in(dir);
  std::string part;
  if (!dir.empty() && dir[0] == '/') cur = "";
  while (std::getline(in, part, '/')) {
    if (part.empty()) continue;
    cur += "/" + part;
    if (::mkdir(cur.c_str(), 0755) != 0 && errno != EEXIST) return errno_error("'" + cur + "'");
  }
  return {};
}

// FNV-1a 64: enough to notice that the agent binary changed.
std::string hash_of(std::string_view data) {
  uint64_t h = 1469598103934665603ull;
  for (unsigned char c : data) h = (h ^ c) * 1099511628211ull;
  char buf[17];
  std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(h));
  return buf;
}

// The newest kernel in /boot that has its modules installed.
Result<std::string> pick_kernel() {
  if (const char* k = std::getenv("DISKIT_APPLIANCE_KERNEL"); k && *k) return std::string(k);
  std::vector<std::string> versions;
  if (DIR* d = ::opendir("/boot")) {
    while (dirent* e = ::readdir(d)) {
      std::string n = e->d_name;
      if (n.compare(0, 8, "vmlinuz-") == 0 && exists("/lib/modules/" + n.substr(8) + "/modules.dep"))
        versions.push_back(n.substr(8));
    }
    ::closedir(d);
  }
  if (versions.empty())
    return make_error(ENOENT, "no kernel: /boot/vmlinuz-* with /lib/modules (install linux-image-amd64)");
  std::sort(versions.begin(), versions.end(), [](const std::string& a, const std::string& b) {
    return ::strverscmp(a.c_str(), b.c_str()) < 0;
  });
  return versions.back();
}

Result<json> compute_key(const std::string& kver, const std::string& agent, const BuildOptions& o) {
  std::vector<std::string> argv = {"dpkg-query", "-W", "-f", "${Package} ${Version}\\n"};
  for (const char* p : kRecipePackages) argv.push_back(p);
  argv.push_back("linux-image-" + kver);
  json pkgs = json::object();
  if (auto c = capture(argv)) {
    std::istringstream in(c->out);
    std::string name, version;
    while (in >> name >> version) pkgs[name] = version;
  }
  std::string agent_bytes = DK_TRY(slurp(agent));
  return json{{"recipe", kRecipeVersion}, {"kernel", kver},      {"packages", pkgs},
              {"agent", hash_of(agent_bytes)}, {"gzip", o.gzip}};
}

std::string gzip(const std::string& in) {
  z_stream z{};
  deflateInit2(&z, 6, Z_DEFLATED, 31, 8, Z_DEFAULT_STRATEGY);
  std::string out(deflateBound(&z, in.size()), '\0');
  z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
  z.avail_in = static_cast<uInt>(in.size());
  z.next_out = reinterpret_cast<Bytef*>(out.data());
  z.avail_out = static_cast<uInt>(out.size());
  deflate(&z, Z_FINISH);
  out.resize(z.total_out);
  deflateEnd(&z);
  return out;
}

// The stripped agent (its debug info is most of its size).
Result<std::string> agent_bytes(const std::string& agent, const std::string& dir) {
  std::string tmp = dir + "/agent.strip";
  auto c = capture({"strip", "--strip-debug", "-o", tmp, agent});
  std::string data = (c && c->status == 0) ? DK_TRY(slurp(tmp)) : DK_TRY(slurp(agent));
  ::unlink(tmp.c_str());
  return data;
}

Result<BuildReport> build(const std::string& dir, const std::string& kver, const std::string& agent,
                          const json& key, const BuildOptions& o) {
  auto t0 = std::chrono::steady_clock::now();
  DK_TRY(mkdirs(dir));
  InitramfsTree tree;
  for (const char* top : {"bin", "sbin", "lib", "lib64"}) tree.add_symlink(top, std::string("usr/") + top);
  if (!tree.add_program("/bin/busybox")) return make_error(ENOENT, "/bin/busybox is missing (install busybox-static)");
  DK_TRY(tree.add_busybox_applets("/bin/busybox"));
  for (const char* p : kRecipePrograms) {
    for (const char* dirp : {"/usr/sbin/", "/usr/bin/", "/sbin/", "/bin/"}) {
      if (tree.add_program(std::string(dirp) + p)) break;
    }
  }
  BuildReport rep;
  rep.modules = DK_TRY(tree.add_modules(kver, std::vector<std::string>(std::begin(kRecipeModules),
                                                                        std::end(kRecipeModules))));
  tree.add_data("usr/bin/diskit-agent", DK_TRY(agent_bytes(agent, dir)), 0755);
  for (const auto& [path, data, mode] : recipe_files()) tree.add_data(path, data, mode);
  rep.files = tree.size();
  std::string cpio = DK_TRY(tree.archive());
  if (o.gzip) cpio = gzip(cpio);
  std::string kernel = DK_TRY(slurp("/boot/vmlinuz-" + kver));
  DK_TRY(write_atomic(dir + "/kernel", kernel));
  DK_TRY(write_atomic(dir + "/initrd", cpio));
  // The key goes last: a build cut short leaves the cache stale, not wrong.
  DK_TRY(write_atomic(dir + "/key.json", key.dump(2) + "\n"));
  rep.rebuilt = true;
  rep.initrd_bytes = cpio.size();
  rep.kernel_bytes = kernel.size();
  rep.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return rep;
}

}  // namespace

ApplianceImage image_in(const std::string& dir, const std::string& kernel_version) {
  return ApplianceImage{dir, dir + "/kernel", dir + "/initrd", kernel_version};
}

std::string appliance_dir() {
  if (const char* d = std::getenv("DISKIT_APPLIANCE_DIR"); d && *d) return d;
  const char* home = std::getenv("HOME");
  return std::string(home && *home ? home : "/tmp") + "/.cache/diskit/appliance";
}

Result<std::string> agent_path() {
  if (const char* a = std::getenv("DISKIT_AGENT"); a && *a) return std::string(a);
  char buf[4096];
  ssize_t n = ::readlink("/proc/self/exe", buf, sizeof buf - 1);
  if (n <= 0) return errno_error("/proc/self/exe");
  std::string self(buf, static_cast<size_t>(n));
  std::string agent = self.substr(0, self.rfind('/') + 1) + "diskit-agent";
  if (!exists(agent)) return make_error(ENOENT, "'" + agent + "': the guest agent is missing (build diskit-agent)");
  return agent;
}

Result<BuildReport> ensure_image(const BuildOptions& o) {
  std::string dir = appliance_dir();
  std::string kver = DK_TRY(pick_kernel());
  std::string agent = DK_TRY(agent_path());
  json key = DK_TRY(compute_key(kver, agent, o));
  BuildReport rep;
  bool current = false;
  if (!o.force && exists(dir + "/kernel") && exists(dir + "/initrd")) {
    auto old = slurp(dir + "/key.json");
    current = old && json::parse(*old, nullptr, false) == key;
  }
  if (!current) {
    rep = DK_TRY_CTX(build(dir, kver, agent, key, o), "building the appliance in '" + dir + "'");
  } else {
    struct stat st {};
    if (::stat((dir + "/initrd").c_str(), &st) == 0) rep.initrd_bytes = static_cast<uint64_t>(st.st_size);
    if (::stat((dir + "/kernel").c_str(), &st) == 0) rep.kernel_bytes = static_cast<uint64_t>(st.st_size);
  }
  rep.image = image_in(dir, kver);
  return rep;
}

Result<json> image_info() {
  std::string dir = appliance_dir();
  json out{{"dir", dir}};
  auto old = slurp(dir + "/key.json");
  json key = old ? json::parse(*old, nullptr, false) : json();
  out["built"] = old.has_value() && !key.is_discarded() && exists(dir + "/initrd");
  if (out["built"]) {
    out["key"] = key;
    struct stat st {};
    if (::stat((dir + "/initrd").c_str(), &st) == 0) out["initrd_bytes"] = st.st_size;
    if (::stat((dir + "/kernel").c_str(), &st) == 0) out["kernel_bytes"] = st.st_size;
  }
  auto kver = pick_kernel();
  auto agent = agent_path();
  if (kver && agent) {
    BuildOptions o;
    o.gzip = key.is_object() && key.value("gzip", false);
    auto want = compute_key(*kver, *agent, o);
    out["current"] = out["built"] && want && *want == key;
  } else {
    out["current"] = false;
    out["problem"] = (!kver ? kver.error() : agent.error()).message;
  }
  return out;
}

}  // namespace dk::appliance
