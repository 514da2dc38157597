// diskit create: qemu-img 7.2's `create` (same options, "Formatting" line,
// -o help listing and exit status).
#include <algorithm>
#include <cstdio>
#include <string>
#include <vector>

#include "formats/chain.h"
#include "formats/driver.h"
#include "tools/command.h"
#include "tools/human.h"
#include "tools/image_args.h"
#include "tools/options.h"

namespace dk::tools {
namespace {

using fmt::OptionDesc;

struct CreateOptions {
  bool quiet = false;
  std::string format = "raw";
  std::vector<std::string> options;  // each -o, joined with ',' as QEMU does
  std::string backing;
  std::string backing_format;
  bool unsafe = false;
  std::vector<std::string> args;  // FILE [SIZE]
};

// Host-file options QEMU's file protocol accepts for every format. Unless
// the driver lists them itself they are placement hints (btrfs NOCOW, XFS
// extent size, preallocating the file before the format writes it) that
// diskit accepts and checks but does not apply.
constexpr OptionDesc kProtocolOptions[] = {
    {"extent_size_hint", "size", "Extent size hint for the image file, 0 to disable", ""},
    {"nocow", "bool", "Turn off copy-on-write (valid only on btrfs)", ""},
    {"preallocation", "str", "Preallocation mode (allowed values: off, falloc, full)", ""},
};

bool is_protocol_option(std::string_view key) {
  return std::any_of(std::begin(kProtocolOptions), std::end(kProtocolOptions),
                     [&](const OptionDesc& d) { return d.name == key; });
}

bool driver_has_option(const fmt::FormatDriver& drv, std::string_view key) {
  return std::any_of(drv.create_options.begin(), drv.create_options.end(),
                     [&](const OptionDesc& d) { return d.name == key; });
}

// True when any comma-separated item of the -o string is "help" or "?".
bool wants_help(const std::string& opts) {
  size_t start = 0;
  for (size_t i = 0; i <= opts.size(); ++i) {
    if (i < opts.size() && opts[i] == ',' && i + 1 < opts.size() && opts[i + 1] == ',') {
      ++i;
      continue;
    }
    if (i == opts.size() || opts[i] == ',') {
      std::string_view item(opts.data() + start, i - start);
      if (item == "help" || item == "?") return true;
      start = i + 1;
    }
  }
  return false;
}

std::string without_help(const std::string& opts) {
  std::string out;
  size_t start = 0;
  for (size_t i = 0; i <= opts.size(); ++i) {
    if (i < opts.size() && opts[i] == ',' && i + 1 < opts.size() && opts[i + 1] == ',') {
      ++i;
      continue;
    }
    if (i == opts.size() || opts[i] == ',') {
      std::string item = opts.substr(start, i - start);
      if (item != "help" && item != "?" && !item.empty()) out += (out.empty() ? "" : ",") + item;
      start = i + 1;
    }
  }
  return out;
}

// qemu_opts_print_help(): "  name=<type>" padded to 24 columns, " - help".
std::string help_line(const OptionDesc& d) {
  std::string type(d.type);
  if (type == "bool") type = "bool (on/off)";
  if (type == "number") type = "num";
  std::string line = "  " + std::string(d.name) + "=<" + type + ">";
  if (!d.help.empty()) {
    if (line.size() < 24) line.append(24 - line.size(), ' ');
    line += " - " + std::string(d.help);
  }
  return line + "\n";
}

void print_help(const fmt::FormatDriver& drv, bool with_file) {
  std::vector<OptionDesc> descs;
  for (const OptionDesc& d : drv.create_options)
    if (with_file || !is_qemu_protocol_option(drv.name, d.name)) descs.push_back(d);
  if (with_file)
    for (const OptionDesc& p : kProtocolOptions)
      if (std::none_of(descs.begin(), descs.end(), [&](const OptionDesc& d) { return d.name == p.name; }))
        descs.push_back(p);
  if (std::none_of(descs.begin(), descs.end(), [](const OptionDesc& d) { return d.name == "size"; }))
    descs.push_back({"size", "size", "Virtual disk size", ""});
  std::sort(descs.begin(), descs.end(),
            [](const OptionDesc& a, const OptionDesc& b) { return a.name < b.name; });
  std::string out = with_file ? "Supported options:\n"
                              : "Supported " + std::string(drv.name) + " options:\n";
  for (const OptionDesc& d : descs) out += help_line(d);
  if (!with_file)
    out += "\nThe protocol level may support further options.\n"
           "Specify the target filename to include those options.\n";
  std::fwrite(out.data(), 1, out.size(), stdout);
}

// The print order and kinds of the options: QEMU's list when the format is
// one qemu-img has, else the driver's own list (size first).
std::vector<CreateOptSpec> option_specs(const fmt::FormatDriver& drv) {
  if (auto order = qemu_create_print_order(drv.name)) return *order;
  std::vector<CreateOptSpec> specs = {{"size", OptKind::Size, ""}};
  for (const OptionDesc& d : drv.create_options)
    if (d.name != "size") specs.push_back({d.name, opt_kind_from_type(d.type), d.default_value});
  return specs;
}

// Checks that every option is known to the driver and well-formed.
Result<void> validate_options(const fmt::FormatDriver& drv, const std::vector<CreateOptSpec>& specs,
                              const std::map<std::string, std::string>& opts) {
  for (const auto& [key, value] : opts) {
    bool known = key == "size" || is_protocol_option(key) || driver_has_option(drv, key);
    if ((key == "backing_file" || key == "backing_fmt") && drv.supports_backing) known = true;
    if (!known) return make_error(EINVAL, "Invalid parameter '" + key + "'");
    OptKind kind = OptKind::Str;
    for (const CreateOptSpec& s : specs)
      if (s.name == key) kind = s.kind;
    for (const OptionDesc& d : kProtocolOptions)
      if (d.name == key) kind = opt_kind_from_type(d.type);
    if (kind == OptKind::Size || kind == OptKind::Num) {
      DK_TRY(parse_number_option(key, value, kind));
    } else if (kind == OptKind::Bool && !parse_bool_option(key, value)) {
      return make_error(EINVAL, "Parameter '" + key + "' expects 'on' or 'off'");
    }
  }
  return {};
}

// The value handed to the driver: numbers in decimal and booleans as on/off,
// whatever spelling QEMU's parser accepted ("0x10", "4k", "yes").
Result<std::string> normalized_value(const std::vector<CreateOptSpec>& specs, const std::string& key,
                                     const std::string& value) {
  for (const CreateOptSpec& s : specs) {
    if (s.name != key) continue;
    if (s.kind == OptKind::Size || s.kind == OptKind::Num)
      return std::to_string(DK_TRY(parse_number_option(key, value, s.kind)));
    if (s.kind == OptKind::Bool) return std::string(DK_TRY(parse_bool_option(key, value)) ? "on" : "off");
  }
  return value;
}

Result<uint64_t> parse_image_size(const std::string& text) {
  auto size = parse_size(text, "image size");
  if (size) return *size;
  if (size.error().code == ERANGE)
    return make_error(EINVAL, "Invalid image size specified. Must be between 0 and 9223372036854775807.");
  return make_error(EINVAL, "Invalid image size specified. You may use k, M, G, T, P or E suffixes "
                            "for kilobytes, megabytes, gigabytes, terabytes, petabytes and exabytes.");
}

// Opens the backing file (relative to the new image's directory) to check it
// and to learn its size.
Result<uint64_t> backing_size(const std::string& filename, const std::string& backing,
                              const std::string& backing_fmt) {
  std::string path = fmt::resolve_backing_path(filename, backing);
  fmt::OpenOptions oo;
  oo.force_share = true;  // like qemu-img: only the size is read
  auto layer = fmt::open_image(path, backing_fmt, oo);
  if (!layer)
    return make_error(layer.error().code, filename + ": Could not open '" + path +
                                              "': " + layer.error().message +
                                              "\nCould not open backing image.");
  return (*layer)->size();
}

Result<int> run_create(const CreateOptions& o) {
  std::string joined;
  for (const std::string& s : o.options) joined += (joined.empty() ? "" : ",") + s;
  const fmt::FormatDriver* drv = fmt::find_driver(o.format);
  std::string filename = o.args.empty() ? "" : o.args[0];
  if (!drv) {
    std::string prefix = filename.empty() ? "" : filename + ": ";
    return make_error(EINVAL, prefix + "Unknown file format '" + o.format + "'");
  }
  if (wants_help(joined)) {
    print_help(*drv, !filename.empty());
    return 0;
  }
  if (filename.empty()) return make_error(EINVAL, "Expecting image file name");
  if (o.args.size() > 2) return make_error(EINVAL, "Unexpected argument: " + o.args[2]);
  std::optional<uint64_t> size;
  if (o.args.size() == 2) size = DK_TRY(parse_image_size(o.args[1]));

  auto in_file = [&](std::string msg) { return make_error(EINVAL, filename + ": " + msg); };
  auto opts_r = parse_option_string(without_help(joined));
  if (!opts_r) return in_file(opts_r.error().message);
  std::map<std::string, std::string> opts = std::move(*opts_r);
  std::vector<CreateOptSpec> specs = option_specs(*drv);
  if (auto r = validate_options(*drv, specs, opts); !r) return in_file(r.error().message);
  if (size && opts.count("size")) return in_file("The image size must be specified only once");
  if (!o.backing.empty()) {
    if (!drv->supports_backing)
      return in_file("Backing file not supported for file format '" + o.format + "'");
    opts["backing_file"] = o.backing;
  }
  if (!o.backing_format.empty()) {
    if (!drv->supports_backing)
      return in_file("Backing file format not supported for file format '" + o.format + "'");
    opts["backing_fmt"] = o.backing_format;
  }
  if (opts.count("size")) size = DK_TRY(parse_number_option("size", opts["size"], OptKind::Size));

  std::string backing = opts.count("backing_file") ? opts["backing_file"] : "";
  std::string backing_fmt = opts.count("backing_fmt") ? opts["backing_fmt"] : "";
  if (!backing.empty() && backing_fmt.empty()) {
    std::string msg = "Backing file specified without backing format";
    if (!o.unsafe) {
      std::string path = fmt::resolve_backing_path(filename, backing);
      if (auto probed = fmt::probe_file(path))
        msg += "\nDetected format of " + std::string((*probed)->name) + ".";
    }
    return in_file(msg);
  }
  if (!backing.empty() && !o.unsafe) {
    uint64_t bsize = DK_TRY(backing_size(filename, backing, backing_fmt));
    if (!size) size = bsize;
  }
  if (!size) return in_file("Image creation needs a size parameter");
  opts["size"] = std::to_string(*size);

  if (!o.quiet) {
    std::string line = DK_TRY(formatting_line(filename, drv->name, specs, opts));
    std::printf("%s\n", line.c_str());
    std::fflush(stdout);
  }
  if (!backing_fmt.empty() && backing.empty())
    return in_file("Backing format cannot be used without backing file");

  fmt::CreateSpec spec;
  spec.size = *size;
  spec.backing_file = backing;
  spec.backing_format = backing_fmt;
  for (const auto& [key, value] : opts) {
    if (key == "size" || key == "backing_file" || key == "backing_fmt") continue;
    if (!driver_has_option(*drv, key) && is_protocol_option(key)) continue;
    spec.options[key] = DK_TRY(normalized_value(specs, key, value));
  }
  // Host-file preallocation for a format that does not handle it itself;
  // qemu-img finds a bad value only when creating the file.
  if (opts.count("preallocation") && !driver_has_option(*drv, "preallocation")) {
    const std::string& p = opts["preallocation"];
    if (p != "off" && p != "falloc" && p != "full") return in_file("invalid parameter value: " + p);
  }
  auto created = drv->create(filename, spec);
  if (!created) {
    // Name the file unless the driver's message already does.
    const std::string& msg = created.error().message;
    if (msg.starts_with(filename + ":") || msg.starts_with("'" + filename + "'"))
      return make_error(created.error());
    return in_file(msg);
  }
  return 0;
}

}  // namespace

Command add_create(CLI::App& parent) {
  auto o = std::make_shared<CreateOptions>();
  Command c;
  c.app = parent.add_subcommand("create", "Create a new disk image");
  c.app->add_flag("-q", o->quiet, "Quiet: do not print the Formatting line");
  c.app->add_option("-f", o->format, "Image format (default raw)");
  c.app->add_option("-o", o->options, "Format options key=value[,key=value...]; -o help lists them")
      ->allow_extra_args(false);
  c.app->add_option("-b", o->backing, "Backing file (relative names are relative to FILE)");
  c.app->add_option("-F", o->backing_format, "Format of the backing file");
  c.app->add_flag("-u", o->unsafe, "Do not open the backing file (SIZE is then required)");
  c.app->add_option("args", o->args, "FILE [SIZE]");
  c.run = [o]() -> Result<int> { return run_create(*o); };
  return c;
}

}  // namespace dk::tools
