// The sweep's process pool: fork/exec of `aimcsim run` per point, results collected from each
// point's report.json, result files rewritten after every point, progress on a terminal.
#include "sim/sweep/sweep_runner.h"

#include <fcntl.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <google/protobuf/util/json_util.h>

#include <algorithm>
#include <chrono>
#include <csignal>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <optional>
#include <sstream>
#include <thread>

#include "proto/chip_config_io.h"
#include "proto/user_error.h"
#include "proto/wire.pb.h"
#include "sim/common/progress_line.h"
#include "sim/report/sweep_report.h"
#include "sim/sweep/task_farm.h"
#include "workloads/job_pool.h"

namespace aimc::sim {
namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

volatile std::sig_atomic_t g_stop = 0;
void on_stop_signal(int) {
  g_stop = 1;
}

std::string slurp(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

std::string self_exe() {
  char buf[4096];
  const ssize_t n = ::readlink("/proc/self/exe", buf, sizeof buf - 1);
  if (n <= 0) throw std::runtime_error("cannot read /proc/self/exe to start the sweep's points");
  return std::string(buf, static_cast<size_t>(n));
}

std::string utc_now() {
  const auto now = std::chrono::system_clock::now();
  const std::time_t t = std::chrono::system_clock::to_time_t(now);
  const auto ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count() % 1000;
  std::tm tm{};
  ::gmtime_r(&t, &tm);
  char buf[40];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &tm);
  char out[48];
  std::snprintf(out, sizeof out, "%s.%03dZ", buf, static_cast<int>(ms));
  return out;
}

// The message of a failed point: what follows the program's last "error: " on stderr, on one
// line; else the last non-empty line.
std::string error_text(const std::string& err) {
  std::string msg;
  for (const char* tag : {"aimcsim: error: ", "aimcsim: internal error: "}) {
    const auto pos = err.rfind(tag);
    if (pos != std::string::npos) {
      msg = err.substr(pos + std::strlen(tag));
      break;
    }
  }
  if (msg.empty()) {
    std::istringstream lines(err);
    std::string line;
    while (std::getline(lines, line))
      if (line.find_first_not_of(" \t\r") != std::string::npos) msg = line;
  }
  std::string one;
  bool space = false;
  for (char c : msg) {
    if (c == '\n' || c == '\r' || c == '\t' || c == ' ') {
      space = !one.empty();
    } else {
      if (space) one += ' ';
      one += c;
      space = false;
    }
  }
  return one;
}

// Starts `exe args...` with stdin from /dev/null, stdout/stderr into files, and the environment
// without an MPI launcher's variables (the point runs as a plain program even on a rank). The
// child dies with its parent (PR_SET_PDEATHSIG), so a rank killed mid-point leaves no orphans.
pid_t spawn(const std::string& exe, const std::vector<std::string>& args, const fs::path& out_path,
            const fs::path& err_path) {
  std::vector<std::string> all = {exe};
  all.insert(all.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (std::string& a : all) argv.push_back(a.data());
  argv.push_back(nullptr);
  std::vector<char*> envp;
  for (char** e = environ; *e != nullptr; ++e)
    if (!mpi::is_launcher_variable(*e)) envp.push_back(*e);
  envp.push_back(nullptr);
  const int in_fd = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
  const int out_fd = ::open(out_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  const int err_fd = ::open(err_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (in_fd < 0 || out_fd < 0 || err_fd < 0) {
    for (int fd : {in_fd, out_fd, err_fd})
      if (fd >= 0) ::close(fd);
    throw UserError("cannot write '" + out_path.parent_path().string() + "'");
  }
  std::cout.flush();
  std::cerr.flush();
  const pid_t parent = ::getpid();
  const pid_t pid = ::fork();
  if (pid == 0) {
    // Only async-signal-safe calls between fork and exec (an MPI rank has threads).
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (::getppid() != parent) ::_exit(127);
    ::dup2(in_fd, 0);
    ::dup2(out_fd, 1);
    ::dup2(err_fd, 2);
    ::signal(SIGINT, SIG_DFL);
    ::signal(SIGTERM, SIG_DFL);
    ::execve(exe.c_str(), argv.data(), envp.data());
    const char msg[] = "aimcsim: internal error: cannot exec the point's process\n";
    (void)!::write(2, msg, sizeof msg - 1);
    ::_exit(127);
  }
  ::close(in_fd);
  ::close(out_fd);
  ::close(err_fd);
  if (pid < 0) throw std::runtime_error("fork failed: " + std::string(std::strerror(errno)));
  return pid;
}

proto::SweepRow row_inputs(const SweepPoint& p) {
  proto::SweepRow row;
  row.set_index(static_cast<uint32_t>(p.index));
  row.set_id(p.id);
  row.set_inputs_key(p.inputs_key);
  row.set_model(p.model);
  row.set_mapping(p.mapping);
  for (const proto::SweepSetting& s : p.settings) *row.add_settings() = s;
  if (p.rate > 0) row.set_request_rate_per_s(p.rate);
  return row;
}

// The row of a point whose process ended with wait status `status`.
proto::SweepRow finished_row(const SweepPoint& p, const fs::path& dir, int status, double wall) {
  proto::SweepRow row = row_inputs(p);
  row.set_wall_s(wall);
  row.set_finished_at(utc_now());
  const std::string err = error_text(slurp(dir / "stderr.txt"));
  if (WIFEXITED(status) && WEXITSTATUS(status) == 0) {
    proto::SimReport report;
    google::protobuf::util::JsonParseOptions options;
    options.ignore_unknown_fields = true;
    const std::string json = slurp(dir / "report.json");
    if (!json.empty() && google::protobuf::util::JsonStringToMessage(json, &report, options).ok()) {
      row.set_status("ok");
      fill_row_results(report, &row);
    } else {
      row.set_status("crashed");
      row.set_error("the point's run ended without a readable report.json");
    }
  } else if (WIFEXITED(status) && WEXITSTATUS(status) == 2) {
    row.set_status("error");
    row.set_error(err);
  } else {
    row.set_status("crashed");
    const std::string how =
        WIFSIGNALED(status)
            ? "killed by signal " + std::to_string(WTERMSIG(status)) + " (" +
                  ::strsignal(WTERMSIG(status)) + ")"
            : "internal error (exit status " + std::to_string(WEXITSTATUS(status)) + ")";
    row.set_error(how + (err.empty() ? "" : ": " + err));
  }
  return row;
}

std::string duration_text(double s) {
  char buf[32];
  if (s < 90) {
    std::snprintf(buf, sizeof buf, "%.0f s", s);
  } else if (s < 5400) {
    std::snprintf(buf, sizeof buf, "%.0f min", s / 60);
  } else {
    std::snprintf(buf, sizeof buf, "%.1f h", s / 3600);
  }
  return buf;
}

class ResultFiles {
 public:
  ResultFiles(const SweepPlan& plan, fs::path dir) : dir_(std::move(dir)) {
    header_.set_name(plan.spec.name());
    header_.set_sweep_file(plan.path);
    header_.set_mode(proto::SweepMode_Name(plan.spec.mode()));
    header_.set_points(static_cast<uint32_t>(plan.points.size()));
  }
  proto::SweepResults results(const std::vector<std::optional<proto::SweepRow>>& rows) const {
    proto::SweepResults r = header_;
    for (const auto& row : rows)
      if (row) *r.add_rows() = *row;
    return r;
  }
  void write(const std::vector<std::optional<proto::SweepRow>>& rows) const {
    const proto::SweepResults r = results(rows);
    proto::write_file_atomic((dir_ / "sweep.json").string(), sweep_json(r));
    proto::write_file_atomic((dir_ / "sweep.csv").string(), sweep_csv(r));
    if (r.rows_size() > 0) {
      proto::write_file_atomic((dir_ / "sweep.html").string(), render_sweep_html(r));
    }
  }

 private:
  fs::path dir_;
  proto::SweepResults header_;
};

// The sweep's TaskWorker: each point an `aimcsim run` process; its result the SweepRow.
class PointProcesses : public TaskWorker {
 public:
  PointProcesses(const SweepPlan& plan, fs::path dir, int jobs, int threads)
      : plan_(plan), dir_(std::move(dir)), jobs_(jobs), threads_(threads), exe_(self_exe()) {}
  ~PointProcesses() override { cancel(); }

  int slots() const override { return jobs_; }
  int running() const override { return static_cast<int>(running_.size()); }

  void start(int task) override {
    if (task < 0 || static_cast<size_t>(task) >= plan_.points.size())
      throw std::runtime_error("sweep: point " + std::to_string(task) + " out of range");
    const SweepPoint& p = plan_.points[static_cast<size_t>(task)];
    const fs::path pdir = dir_ / "points" / p.id;
    std::error_code ec;
    fs::create_directories(pdir, ec);
    if (ec) throw UserError("cannot create '" + pdir.string() + "'");
    fs::remove(pdir / "report.json", ec);
    const std::string chip_path = (pdir / (p.is_system ? "system.pbtxt" : "chip.pbtxt")).string();
    proto::write_file_atomic(chip_path, point_config_text(p));
    const pid_t pid = spawn(exe_, run_arguments(plan_, p, chip_path, pdir.string(), threads_),
                            pdir / "stdout.txt", pdir / "stderr.txt");
    running_[pid] = {task, Clock::now()};
  }

  std::optional<std::pair<int, std::string>> wait_one(std::chrono::milliseconds timeout) override {
    const auto until = Clock::now() + timeout;
    while (true) {
      for (auto it = running_.begin(); it != running_.end(); ++it) {
        int status = 0;
        const pid_t r = ::waitpid(it->first, &status, WNOHANG);
        if (r == 0 || (r < 0 && errno == EINTR)) continue;
        if (r < 0) throw std::runtime_error("waitpid failed: " + std::string(std::strerror(errno)));
        const int task = it->second.task;
        const double wall =
            std::chrono::duration<double>(Clock::now() - it->second.started).count();
        running_.erase(it);
        const SweepPoint& p = plan_.points[static_cast<size_t>(task)];
        return std::make_pair(
            task, finished_row(p, dir_ / "points" / p.id, status, wall).SerializeAsString());
      }
      if (Clock::now() >= until) return std::nullopt;
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
  }

  void cancel() override {
    for (const auto& [pid, r] : running_) ::kill(pid, SIGTERM);
    for (const auto& [pid, r] : running_) ::waitpid(pid, nullptr, 0);
    running_.clear();
  }

 private:
  struct Running {
    int task;
    Clock::time_point started;
  };
  const SweepPlan& plan_;
  fs::path dir_;
  int jobs_;
  int threads_;
  std::string exe_;
  std::map<pid_t, Running> running_;
};

// Every rank must expand the sweep file into the same points (same file, same models): rank 0
// sends its points' fingerprints (proto::SweepKeys) and each rank compares its own.
void check_same_plan(const SweepPlan& plan, const mpi::Comm& comm) {
  proto::SweepKeys keys;
  for (const SweepPoint& p : plan.points) keys.add_inputs_key(p.inputs_key);
  std::string bytes = keys.SerializeAsString();
  comm.broadcast(&bytes);
  proto::SweepKeys root_keys;
  if (!root_keys.ParseFromString(bytes))
    throw std::runtime_error("sweep: rank 0's point keys do not parse");
  if (!std::equal(root_keys.inputs_key().begin(), root_keys.inputs_key().end(),
                  keys.inputs_key().begin(), keys.inputs_key().end())) {
    throw UserError(plan.path + ": rank " + std::to_string(comm.rank()) +
                    " expands the sweep into other points than rank 0 (is the sweep file, the "
                    "chip config or a model folder different on this machine?)");
  }
}

// Restores the previous SIGINT/SIGTERM handlers when it goes out of scope.
class StopSignals {
 public:
  StopSignals() {
    struct sigaction action {};
    action.sa_handler = on_stop_signal;
    sigemptyset(&action.sa_mask);
    g_stop = 0;
    ::sigaction(SIGINT, &action, &old_int_);
    ::sigaction(SIGTERM, &action, &old_term_);
  }
  ~StopSignals() {
    ::sigaction(SIGINT, &old_int_, nullptr);
    ::sigaction(SIGTERM, &old_term_, nullptr);
  }

 private:
  struct sigaction old_int_ {
  }, old_term_{};
};

}  // namespace

namespace {

// Resume: keeps the rows of an earlier run whose inputs match a point (crashed ones run again);
// returns how many were kept.
int resume_rows(const SweepPlan& plan, const fs::path& dir,
                std::vector<std::optional<proto::SweepRow>>* rows) {
  int kept = 0;
  const fs::path json_path = dir / "sweep.json";
  if (fs::exists(json_path)) {
    const proto::SweepResults earlier = parse_sweep_json(slurp(json_path), json_path.string());
    std::map<std::string, proto::SweepRow> by_key;
    for (const proto::SweepRow& row : earlier.rows())
      if (row.status() != "crashed") by_key[row.inputs_key()] = row;
    for (size_t i = 0; i < plan.points.size(); ++i) {
      const auto it = by_key.find(plan.points[i].inputs_key);
      if (it == by_key.end()) continue;
      proto::SweepRow row = it->second;
      const proto::SweepRow inputs = row_inputs(plan.points[i]);
      row.set_index(inputs.index());
      row.set_id(inputs.id());
      *row.mutable_settings() = inputs.settings();
      (*rows)[i] = row;
      ++kept;
    }
  }
  return kept;
}

// One line per finished point: its settings, status and wall time.
void print_point_result(const SweepPoint& p, const proto::SweepRow& row, int done, size_t n,
                        const proto::Sweep& spec, std::ostream& out) {
  char wall_text[32];
  std::snprintf(wall_text, sizeof wall_text, "%.1f s", row.wall_s());
  out << "[" << done << "/" << n << "] " << p.id;
  for (const auto& s : p.settings) out << " " << s.field() << "=" << s.value();
  if (spec.models_size() > 1) out << " model=" << p.model;
  if (spec.mappings_size() > 1) out << " mapping=" << p.mapping;
  out << ": " << row.status();
  if (row.status() != "ok") out << ": " << row.error();
  out << " (" << wall_text << ")\n" << std::flush;
}

// Threads per point: this process's cores (shared with the other ranks on the machine when
// the launcher did not bind them) divided by the points it runs at once; run.threads if set.
int threads_per_point(const SweepPlan& plan, const mpi::Comm* comm, int jobs, size_t pending) {
  const int point_cores = comm != nullptr ? threads_per_rank(*comm, 0) : workloads::usable_cores();
  const int local_points =
      comm != nullptr ? jobs : std::min<int>(jobs, std::max<int>(1, static_cast<int>(pending)));
  const proto::SweepRunOptions& run = plan.spec.run();
  return run.threads() > 0 ? static_cast<int>(run.threads())
                           : std::max(1, point_cores / local_points);
}

// The sweep's first line: its points, those resumed and those to run, and how.
void print_sweep_start(const SweepPlan& plan, const SweepOutcome& outcome, size_t pending,
                       const mpi::Comm* comm, int jobs, const fs::path& dir, std::ostream& out) {
  out << "sweep " << plan.spec.name() << ": " << plan.points.size() << " points";
  if (outcome.kept > 0) out << ", resumed " << outcome.kept << " already done";
  out << ", running " << pending << " (";
  if (comm != nullptr) out << comm->size() << " MPI processes x ";
  out << jobs << " at a time); results in " << dir.string() << "/\n" << std::flush;
}

// The progress line on a terminal: points done (and failed), running, elapsed, and once points
// have finished in this run, their rate and the time left.
std::string progress_text(const std::vector<std::optional<proto::SweepRow>>& rows, int running,
                          double elapsed, int finished_now) {
  const size_t n = rows.size();
  int failed = 0, done = 0;
  for (const auto& r : rows)
    if (r) ++done, failed += r->status() != "ok";
  std::string line =
      "sweep: running | " + std::to_string(done) + "/" + std::to_string(n) + " points done";
  if (failed > 0) line += " (" + std::to_string(failed) + " failed)";
  line += " | " + std::to_string(running) + " running | " + duration_text(elapsed);
  if (finished_now > 0) {
    const double rate = finished_now / elapsed;
    char buf[64];
    std::snprintf(buf, sizeof buf, " | %.2g points/min", rate * 60);
    line += buf;
    line += " | about " + duration_text(static_cast<double>(n - done) / rate) + " left";
  }
  return line;
}

}  // namespace

SweepOutcome run_sweep(const SweepPlan& plan, const SweepRunnerOptions& options,
                       std::ostream& out) {
  const auto start = Clock::now();
  const mpi::Comm* comm = options.comm;
  const bool root = comm == nullptr || comm->root();
  const fs::path dir = options.out_dir;
  const size_t n = plan.points.size();
  SweepOutcome outcome;
  outcome.points = static_cast<int>(n);
  const int jobs = std::max(1, options.jobs);
  if (comm != nullptr) check_same_plan(plan, *comm);

  std::vector<std::optional<proto::SweepRow>> rows(n);
  std::vector<int> pending;
  if (root) {
    std::error_code ec;
    fs::create_directories(dir / "points", ec);
    if (ec) throw UserError("cannot create --out folder '" + dir.string() + "'");
    outcome.kept = resume_rows(plan, dir, &rows);
    for (size_t i = 0; i < n; ++i)
      if (!rows[i]) pending.push_back(static_cast<int>(i));
  }
  const int threads = threads_per_point(plan, comm, jobs, pending.size());
  if (root) print_sweep_start(plan, outcome, pending.size(), comm, jobs, dir, out);

  const ResultFiles files(plan, dir);
  if (root) files.write(rows);

  int finished_now = 0;
  auto progress = [&](int running) {
    if (!options.progress || !root) return;
    const double elapsed = std::chrono::duration<double>(Clock::now() - start).count();
    show_progress_line(progress_text(rows, running, elapsed, finished_now));
  };
  auto on_result = [&](int task, const std::string& bytes) {
    const size_t i = static_cast<size_t>(task);
    proto::SweepRow row;
    if (i >= n || !row.ParseFromString(bytes)) {
      throw std::runtime_error("sweep: unreadable result for point " + std::to_string(task));
    }
    // A point killed while the sweep stops (Ctrl-C reaches the whole process group; a launcher
    // stopping an MPI job may signal it too) was interrupted, not failed: leave it unrecorded,
    // so that resuming runs it.
    if (g_stop && row.status() == "crashed") return;
    rows[i] = row;
    ++outcome.ran;
    ++finished_now;
    files.write(rows);
    if (options.progress) clear_progress_line();
    int done = 0;
    for (const auto& r : rows) done += r.has_value();
    print_point_result(plan.points[i], row, done, n, plan.spec, out);
  };

  PointProcesses worker(plan, dir, jobs, threads);
  TaskFarmOptions farm;
  farm.stop = &g_stop;
  farm.tick = progress;
  bool complete = false;
  {
    StopSignals signals;
    complete = run_task_farm(pending, &worker, comm, on_result, farm);
  }
  outcome.interrupted = !complete;
  if (options.progress && root) clear_progress_line();
  for (const auto& r : rows)
    if (r && r->status() != "ok") ++outcome.failed;
  outcome.wall_s = std::chrono::duration<double>(Clock::now() - start).count();
  return outcome;
}

}  // namespace aimc::sim
