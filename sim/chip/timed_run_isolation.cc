// Fork isolation of the SystemC kernel: a function runs in a child process and its result (or
// its error) comes back through a pipe as a proto::ChildOutcome.
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <functional>
#include <stdexcept>
#include <string>
#include <systemc>  // declares sc_main extern "C"

#include "proto/user_error.h"
#include "proto/wire.pb.h"
#include "sim/chip/timing_run.h"

namespace aimc::sim {
namespace {

void write_all(int fd, const std::string& s) {
  size_t off = 0;
  while (off < s.size()) {
    const ssize_t n = ::write(fd, s.data() + off, s.size() - off);
    if (n <= 0) break;
    off += static_cast<size_t>(n);
  }
}

}  // namespace

std::string run_isolated(const std::function<std::string()>& fn) {
  int fds[2];
  if (pipe(fds) != 0) throw std::runtime_error("pipe() failed");
  std::fflush(nullptr);
  const pid_t pid = fork();
  if (pid < 0) throw std::runtime_error("fork() failed");
  if (pid == 0) {
    ::close(fds[0]);
    int code = 0;
    proto::ChildOutcome outcome;
    try {
      outcome.set_value(fn());
    } catch (const UserError& e) {
      outcome.set_user_error(e.what());
      code = 2;
    } catch (const std::exception& e) {
      outcome.set_internal_error(e.what());
      code = 1;
    }
    const std::string out = outcome.SerializeAsString();
    write_all(fds[1], out);
    ::close(fds[1]);
    std::fflush(nullptr);
    _exit(code);
  }
  ::close(fds[1]);
  std::string data;
  char buf[65536];
  for (;;) {
    const ssize_t n = ::read(fds[0], buf, sizeof buf);
    if (n <= 0) break;
    data.append(buf, static_cast<size_t>(n));
  }
  ::close(fds[0]);
  int status = 0;
  waitpid(pid, &status, 0);
  proto::ChildOutcome outcome;
  if (!outcome.ParseFromString(data) ||
      outcome.outcome_case() == proto::ChildOutcome::OUTCOME_NOT_SET)
    throw std::runtime_error("simulation child process died (status " + std::to_string(status) +
                             ")");
  if (outcome.has_user_error()) throw UserError(outcome.user_error());
  if (outcome.has_internal_error()) throw std::runtime_error(outcome.internal_error());
  return outcome.value();
}

}  // namespace aimc::sim

// libsystemc's own main() calls sc_main; aimcsim has its own main() and starts the kernel with
// sc_start() from simulate(), so this definition only satisfies the linker and is never called.
int sc_main(int, char*[]) {
  return 1;
}
