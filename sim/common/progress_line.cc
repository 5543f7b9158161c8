// The progress line on stderr.
#include "sim/common/progress_line.h"

#include <unistd.h>

#include <iostream>
#include <memory>
#include <mutex>

namespace aimc::sim {

bool stderr_is_tty() {
  return ::isatty(STDERR_FILENO) != 0;
}

void show_progress_line(const std::string& line) {
  std::cerr << "\r\033[K" << line << std::flush;
}

void clear_progress_line() {
  std::cerr << "\r\033[K" << std::flush;
}

std::function<void(const std::string&)> tty_progress() {
  if (!stderr_is_tty()) return {};
  auto mutex = std::make_shared<std::mutex>();
  return [mutex](const std::string& line) {
    std::lock_guard<std::mutex> lock(*mutex);
    show_progress_line(line);
  };
}

}  // namespace aimc::sim
