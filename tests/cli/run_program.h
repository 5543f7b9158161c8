// Runs the aimcsim program as a user would and captures its exit status, stdout and stderr.
#pragma once

#include <sys/wait.h>
#include <unistd.h>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>

namespace aimc::test {

struct ProgramResult {
  int status = -1;
  std::string out;
  std::string err;
};

inline std::string slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

/// Runs `env AIMCSIM_BIN args` through the shell in folder `cwd` (empty: the current one);
/// args are shell words, quote them yourself; `env` is "NAME=value ..." or empty.
inline ProgramResult run_aimcsim_in(const std::string& cwd, const std::string& env,
                                    const std::string& args) {
  static int counter = 0;
  const std::string base =
      "/tmp/aimcsim_test_" + std::to_string(::getpid()) + "_" + std::to_string(counter++);
  const std::string cmd = (cwd.empty() ? std::string() : "cd '" + cwd + "' && ") +
                          (env.empty() ? std::string() : "env " + env + " ") +
                          std::string(AIMCSIM_BIN) + " " + args + " > " + base + ".out 2> " + base +
                          ".err < /dev/null";
  const int raw = std::system(cmd.c_str());
  ProgramResult r;
  r.status = WIFEXITED(raw) ? WEXITSTATUS(raw) : -1;
  r.out = slurp(base + ".out");
  r.err = slurp(base + ".err");
  std::remove((base + ".out").c_str());
  std::remove((base + ".err").c_str());
  return r;
}

/// Runs `env AIMCSIM_BIN args` through the shell (args are shell words, quote them yourself);
/// `env` is "NAME=value ..." or empty.
inline ProgramResult run_aimcsim_env(const std::string& env, const std::string& args) {
  return run_aimcsim_in("", env, args);
}

/// Runs `AIMCSIM_BIN args` through the shell (args are shell words, quote them yourself).
inline ProgramResult run_aimcsim(const std::string& args) {
  return run_aimcsim_env("", args);
}

}  // namespace aimc::test
