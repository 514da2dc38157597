// qemu-img's -p progress line: "    (12.34/100%)" redrawn with '\r' on
// stdout (printed whether or not stdout is a terminal, as qemu-img does),
// and a final newline.
#pragma once

#include <cstdio>

namespace dk::tools {

class Progress {
 public:
  // min_skip: a new value is printed only when it moved by more than this
  // many percent since the last print (0 and 100 are always printed).
  explicit Progress(bool enabled, double min_skip = 1.0, std::FILE* out = stdout)
      : m_enabled(enabled), m_min_skip(min_skip), m_out(out) {}
  ~Progress() { end(); }
  Progress(const Progress&) = delete;
  Progress& operator=(const Progress&) = delete;

  bool enabled() const { return m_enabled; }
  // Sets the absolute percentage (clamped to 0..100) and redraws if due.
  void print(double percent);
  // Ends the line (once); nothing when disabled.
  void end();

 private:
  bool m_enabled;
  bool m_ended = false;
  double m_min_skip;
  double m_last = 0;
  std::FILE* m_out;
};

}  // namespace dk::tools
