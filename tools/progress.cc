#include "tools/progress.h"

#include <algorithm>

namespace dk::tools {

void Progress::print(double percent) {
  if (!m_enabled || m_ended) return;
  // qemu computes in float; do the same so the rounding of "%3.2f" matches.
  float cur = static_cast<float>(std::clamp(percent, 0.0, 100.0));
  if (cur > m_last + m_min_skip || cur < m_last - m_min_skip || cur == 0 || cur == 100) {
    m_last = cur;
    std::fprintf(m_out, "    (%3.2f/100%%)\r", cur);
    std::fflush(m_out);
  }
}

void Progress::end() {
  if (!m_enabled || m_ended) return;
  m_ended = true;
  std::fputc('\n', m_out);
  std::fflush(m_out);
}

}  // namespace dk::tools
