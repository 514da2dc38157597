// diskit resize: qemu-img 7.2's `resize` (grow, or shrink with --shrink).
#include <cstdio>
#include <string>
#include <vector>

#include "formats/chain.h"
#include "formats/maint/resize.h"
#include "tools/command.h"
#include "tools/image_args.h"
#include "tools/options.h"

namespace dk::tools {
namespace {

struct ResizeOptions {
  std::string format;
  std::string preallocation = "off";
  bool shrink = false;
  bool quiet = false;
  std::string filename;
  std::string size;
  std::vector<std::string> extra;  // a "-1M" size lands here (CLI11 sees an option)
};

// "+N", "-N" or "N" against the current size; QEMU's messages.
Result<uint64_t> new_size_from(const std::string& text, uint64_t current) {
  int sign = 0;
  std::string_view num = text;
  if (!num.empty() && (num[0] == '+' || num[0] == '-')) {
    sign = num[0] == '+' ? 1 : -1;
    num.remove_prefix(1);
  }
  auto n = parse_size(num, "size");
  if (!n)
    return make_error(EINVAL,
                      "Parameter 'size' expects a non-negative number below 2^64\n"
                      "Optional suffix k, M, G, T, P or E means kilo-, mega-, giga-, tera-, peta-\n"
                      "and exabytes, respectively.");
  int64_t size = 0;
  if (sign < 0)
    size = *n > current ? -1 : static_cast<int64_t>(current - *n);
  else if (sign > 0)
    size = *n > static_cast<uint64_t>(INT64_MAX) - current ? -1 : static_cast<int64_t>(current + *n);
  else
    size = static_cast<int64_t>(*n);
  if (size <= 0) return make_error(EINVAL, "New image size must be positive");
  return static_cast<uint64_t>(size);
}

Result<int> run_resize(ResizeOptions& o) {
  // qemu-img takes a last argument starting with '-' as a relative size.
  for (const std::string& e : o.extra) {
    if (e == "--") continue;  // CLI11 keeps the positional mark among the extras
    if (e.size() > 1 && e[0] == '-' && e[1] != '-' && o.size.empty() && !o.filename.empty() &&
        &e == &o.extra.back())
      o.size = e;
    else
      return make_error(EINVAL, "unrecognized option '" + e + "'");
  }
  if (o.size.empty()) return make_error(EINVAL, "Not enough arguments");
  const std::string& filename = o.filename;
  fmt::maint::Prealloc prealloc = DK_TRY(fmt::maint::parse_resize_prealloc(o.preallocation));

  fmt::OpenOptions oo;
  oo.writable = true;
  auto layer = fmt::open_image(filename, o.format, oo);
  if (!layer) return make_error(open_error(filename, layer.error()));
  uint64_t new_size = DK_TRY(new_size_from(o.size, (*layer)->size()));
  if (new_size < (*layer)->size() && !o.shrink) {
    std::fprintf(stderr,
                 "diskit: resize: Use the --shrink option to perform a shrink operation.\n"
                 "diskit: warning: Shrinking an image will delete all data beyond the shrunken "
                 "image's end. Before performing such an operation, make sure there is no important "
                 "data there.\n");
    return 1;
  }
  DK_TRY(fmt::maint::resize_image(**layer, new_size, o.shrink, prealloc));
  if (!o.quiet) std::printf("Image resized.\n");
  return 0;
}

}  // namespace

Command add_resize(CLI::App& parent) {
  auto o = std::make_shared<ResizeOptions>();
  Command c;
  c.app = parent.add_subcommand("resize", "Change the virtual size of a disk image");
  c.app->add_option("-f", o->format, "Image format (probed when omitted)");
  c.app->add_option("--preallocation", o->preallocation, "Preallocation of the new part: off, falloc, full");
  c.app->add_flag("--shrink", o->shrink, "Allow shrinking (data beyond the new end is lost)");
  c.app->add_flag("-q", o->quiet, "Quiet: no message on success");
  c.app->add_option("filename", o->filename, "Image file");
  c.app->add_option("size", o->size, "New size, or +SIZE / -SIZE relative to the current one");
  c.app->allow_extras();
  c.run = [o, app = c.app]() -> Result<int> {
    o->extra = app->remaining();
    return run_resize(*o);
  };
  return c;
}

}  // namespace dk::tools
