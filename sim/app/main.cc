// The aimcsim program: all work happens in aimc::sim; main only hands over the arguments (after
// asking glibc's malloc for transparent huge pages, below).
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <string>

#include "sim/app/cli.h"

namespace {

// A large run's state is millions of small records spread over a heap of a gigabyte or more
// (the 70B preset: 1.3 GB); in 4 KiB pages every first touch is a page fault and the records'
// reads miss the TLB. glibc's malloc places its heap in transparent huge pages (where the kernel
// allows them on request) only when the tunable glibc.malloc.hugetlb=1 is set at the start of
// the process: the program starts itself again once with it set (docs/performance.md, "Huge
// pages": about 95 % fewer page faults and 10 % less CPU time on the presets; the results are the
// same). AIMCSIM_NO_HUGE_PAGES=1 keeps the process as started.
void restart_with_huge_pages(char** argv) {
#if defined(__linux__) && defined(__GLIBC__)
  const char* off = std::getenv("AIMCSIM_NO_HUGE_PAGES");
  if (off && std::strcmp(off, "0") != 0) return;
  const char* tunables = std::getenv("GLIBC_TUNABLES");
  std::string set = tunables ? tunables : "";
  if (set.find("glibc.malloc.hugetlb") != std::string::npos) return;  // set (by us or the user)
  set += std::string(set.empty() ? "" : ":") + "glibc.malloc.hugetlb=1";
  if (setenv("GLIBC_TUNABLES", set.c_str(), 1) != 0) return;
  execv("/proc/self/exe", argv);
  // Not restarted (no /proc): go on as started.
  if (tunables) {
    setenv("GLIBC_TUNABLES", tunables, 1);
  } else {
    unsetenv("GLIBC_TUNABLES");
  }
#else
  (void)argv;
#endif
}

}  // namespace

int main(int argc, char** argv) {
  restart_with_huge_pages(argv);
  return aimc::sim::run_cli(argc, argv);
}
