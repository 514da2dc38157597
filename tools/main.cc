// diskit: one binary, one subcommand per tools/cmd_<name>.cc.
#include <cstdio>
#include <iostream>

#include "formats/chain.h"
#include "tools/commands.h"

int main(int argc, char** argv) {
  CLI::App app{"diskit: an offline disk image toolkit (qemu-img compatible image commands)", "diskit"};
  app.require_subcommand(1, 1);
  app.set_version_flag("-V,--version", "diskit 0.1.0");
  // Descriptor extent paths are untrusted: absolute or ".." names are
  // refused unless the user says the image is trusted.
  app.add_flag_callback(
      "--allow-unsafe-extent-paths",
      [] { dk::fmt::set_default_open_option("allow-unsafe-extent-paths", "on"); },
      "Allow image descriptors to name extent files by absolute path or outside their directory");
  std::vector<dk::tools::Command> commands = dk::tools::add_all_commands(app);
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForVersion& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    // One line on stderr, qemu-img's exit status for usage errors.
    std::string sub;
    for (const auto& c : commands)
      if (c.app->parsed()) sub = c.app->get_name() + ": ";
    std::fprintf(stderr, "diskit: %s%s\nTry 'diskit %s--help' for more information.\n", sub.c_str(),
                 e.what(), sub.empty() ? "" : (sub.substr(0, sub.size() - 2) + " ").c_str());
    int code = 1;
    for (const auto& c : commands)
      if (c.app->parsed()) code = c.error_exit;
    return code;
  }
  for (auto& c : commands) {
    if (!c.app->parsed()) continue;
    dk::Result<int> r = c.run();
    if (!r) {
      std::fflush(stdout);
      std::fprintf(stderr, "diskit: %s: %s\n", c.app->get_name().c_str(), r.error().message.c_str());
      return c.error_exit;
    }
    return *r;
  }
  return 1;
}
