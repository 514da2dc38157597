// Finding the parent of a differencing VDI image. VirtualBox links a child
// to its parent by UUID (uuid_link = the parent's uuid_image) and keeps the
// file names in its media registry, which diskit does not read; so the
// parent is either given (open option parent=PATH) or looked for among the
// *.vdi files in the child's directory.
#include <fcntl.h>
#include <sys/stat.h>

#include <cctype>
#include <climits>
#include <cstdlib>
#include <filesystem>

#include "formats/vdi/vdi.h"

namespace dk::fmt::vdi {

namespace {

// At most this many directory entries are examined (a huge directory must
// not make opening an image slow).
constexpr int kMaxScan = 4096;

// The uuid_image of a VDI file, or nothing when it is not one.
std::optional<Uuid> image_uuid(const std::string& path) {
  auto f = File::open(path, O_RDONLY);
  if (!f) return std::nullopt;
  HeaderSector raw{};
  if (!f->pread_fill(0, raw)) return std::nullopt;
  Header h = decode_header(raw);
  if (h.signature != kSignature) return std::nullopt;
  return h.uuid_image;
}

bool has_vdi_extension(const std::string& name) {
  if (name.size() < 4) return false;
  std::string ext = name.substr(name.size() - 4);
  for (char& c : ext) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return ext == ".vdi";
}

}  // namespace

Result<std::string> locate_parent(const std::string& path, const Header& h, const OpenOptions& opts) {
  const std::string want = uuid_string(h.uuid_link);
  if (auto it = opts.extra.find("parent"); it != opts.extra.end()) {
    const std::string& given = it->second;
    auto uuid = image_uuid(given);
    if (!uuid)
      return make_error(EINVAL, "'" + path + "': parent '" + given + "' is not a VDI image");
    if (*uuid != h.uuid_link)
      return make_error(EINVAL, "'" + path + "': '" + given + "' is not its parent (its UUID is " +
                                    uuid_string(*uuid) + ", the image links to " + want + ")");
    // The chain resolves relative backing names against the child's
    // directory; a name the user gave is relative to the working directory.
    char resolved[PATH_MAX];
    if (::realpath(given.c_str(), resolved)) return std::string(resolved);
    return given;
  }
  namespace fs = std::filesystem;
  fs::path self(path);
  fs::path dir = self.has_parent_path() ? self.parent_path() : fs::path(".");
  struct stat self_st{};
  const bool have_self = ::stat(path.c_str(), &self_st) == 0;
  std::error_code ec;
  fs::directory_iterator it(dir, ec), end;
  for (int seen = 0; !ec && it != end && seen < kMaxScan; it.increment(ec), seen++) {
    const std::string name = it->path().filename().string();
    if (!has_vdi_extension(name)) continue;
    const std::string candidate = it->path().string();
    struct stat st{};
    if (::stat(candidate.c_str(), &st) != 0 || !S_ISREG(st.st_mode)) continue;
    if (have_self && st.st_dev == self_st.st_dev && st.st_ino == self_st.st_ino) continue;
    auto uuid = image_uuid(candidate);
    if (uuid && *uuid == h.uuid_link) return name;  // relative to the child's directory
  }
  return make_error(ENOENT, "'" + path + "': differencing image whose parent (UUID " + want +
                                ") is not among the .vdi files next to it; name the parent with "
                                "the open option parent=PATH");
}

}  // namespace dk::fmt::vdi
