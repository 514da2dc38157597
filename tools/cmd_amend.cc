// diskit amend: qemu-img 7.2's `amend [-q] [-p] [-f FMT] [-t CACHE]
// [--force] -o OPTIONS FILE` (qcow2 only, as in qemu-img).
#include <cstdio>
#include <string>
#include <utility>
#include <vector>

#include "formats/chain.h"
#include "formats/qcow2/qcow2.h"
#include "tools/command.h"
#include "tools/image_args.h"
#include "tools/progress.h"

namespace dk::tools {
namespace {

struct AmendOptions {
  std::string format;
  std::string cache = "writeback";
  std::vector<std::string> options;  // each -o; joined with ',' as qemu-img does
  bool progress = false;
  bool quiet = false;
  bool force = false;  // only meaningful for encryption changes, as in QEMU
  std::vector<std::string> files;
};

// Splits one -o string into key=value items (",," is a literal comma; a key
// without '=' means "on"). QEMU refuses empty lists and empty items.
Result<std::vector<std::pair<std::string, std::string>>> split_options(const std::string& text) {
  auto invalid = [&] { return make_error(EINVAL, "Invalid option list: " + text); };
  if (text.empty() || text.back() == ',') return invalid();
  std::vector<std::pair<std::string, std::string>> items;
  std::string cur;
  auto finish = [&]() -> bool {
    if (cur.empty()) return false;
    const size_t eq = cur.find('=');
    if (eq == std::string::npos)
      items.emplace_back(cur, "on");
    else
      items.emplace_back(cur.substr(0, eq), cur.substr(eq + 1));
    cur.clear();
    return true;
  };
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] != ',') {
      cur += text[i];
    } else if (i + 1 < text.size() && text[i + 1] == ',') {
      cur += ',';
      ++i;
    } else if (!finish()) {
      return invalid();
    }
  }
  if (!finish()) return invalid();
  return items;
}

bool wants_help(const std::vector<std::pair<std::string, std::string>>& items) {
  for (const auto& [k, v] : items)
    if ((k == "help" || k == "?") && v == "on") return true;
  return false;
}

// print_amend_option_help(): qcow2 is the only format qemu-img can amend.
Result<int> print_help(const std::string& format) {
  if (!fmt::find_driver(format)) return make_error(EINVAL, "Unknown file format '" + format + "'");
  if (format != "qcow2") return make_error(ENOTSUP, "Format driver '" + format + "' does not support option amendment");
  std::string out = "Amend options for 'qcow2':\n";
  for (size_t i = 0; i < fmt::qcow2::kAmendOptionCount; ++i) {
    const fmt::OptionDesc& d = fmt::qcow2::kAmendOptions[i];
    std::string line = "  " + std::string(d.name) + "=<" + (d.type == "bool" ? "bool (on/off)" : std::string(d.type)) + ">";
    if (line.size() < 24) line.append(24 - line.size(), ' ');
    out += line + " - " + std::string(d.help) + "\n";
  }
  std::fwrite(out.data(), 1, out.size(), stdout);
  return 0;
}

Result<int> run_amend(const AmendOptions& o) {
  if (o.options.empty())
    return make_error(EINVAL, "Must specify options (-o)\nTry 'diskit --help' for more information");
  std::vector<std::pair<std::string, std::string>> items;
  for (const std::string& s : o.options) {
    auto part = DK_TRY(split_options(s));
    items.insert(items.end(), part.begin(), part.end());
  }
  const bool help = wants_help(items);
  if (help && !o.format.empty()) return print_help(o.format);
  if (o.files.size() != 1) return make_error(EINVAL, "Expecting one image file name");
  const std::string& filename = o.files[0];

  fmt::ChainOptions copts;
  copts.format = o.format;
  copts.open.writable = true;
  DK_TRY(apply_cache_mode(o.cache, "cache option", copts.open));
  auto top = fmt::open_chain(filename, copts);
  if (!top) return make_error(open_error(filename, top.error()));
  const std::string format((*top)->format_name());
  if (help) return print_help(format);
  auto* q = dynamic_cast<fmt::qcow2::Qcow2Layer*>(top->get());
  if (!q) return make_error(ENOTSUP, "Format driver '" + format + "' does not support option amendment");
  std::vector<std::pair<std::string, std::string>> real;
  for (auto& it : items)
    if (it.first != "help" && it.first != "?") real.push_back(it);
  fmt::qcow2::Qcow2Layer::AmendSpec spec = DK_TRY(fmt::qcow2::parse_amend_options(real));

  Progress progress(o.progress && !o.quiet);
  progress.print(0);
  auto r = q->amend(spec, [&](double p) { progress.print(p); });
  progress.print(100);
  progress.end();
  if (!r) return tl::unexpected(r.error());
  return 0;
}

}  // namespace

Command add_amend(CLI::App& parent) {
  auto o = std::make_shared<AmendOptions>();
  Command c;
  c.app = parent.add_subcommand("amend", "Change format-specific options of an image (qcow2)");
  c.app->add_option("-f", o->format, "Image format (probed when omitted)");
  c.app->add_option("-t", o->cache, "Cache mode for FILE (default writeback)");
  c.app->add_option("-o", o->options, "Options key=value[,key=value...]; -o help lists them")
      ->allow_extra_args(false);
  c.app->add_flag("-p", o->progress, "Show progress");
  c.app->add_flag("-q", o->quiet, "Quiet");
  c.app->add_flag("--force", o->force, "Allow changes that may lose data (encryption key slots)");
  c.app->add_option("filename", o->files, "Image file");
  c.run = [o]() -> Result<int> { return run_amend(*o); };
  return c;
}

}  // namespace dk::tools
