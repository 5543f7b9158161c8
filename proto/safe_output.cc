// Atomic files, staged output folders, folder locks and the clean-up of dead processes'
// temporaries, on POSIX calls so that every failure carries the operating system's reason.
#include "proto/safe_output.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <filesystem>

namespace aimc::proto {
namespace fs = std::filesystem;
namespace {

std::string host_name() {
  char buf[256] = {};
  if (::gethostname(buf, sizeof buf - 1) != 0 || buf[0] == '\0') return "localhost";
  std::string h(buf);
  for (char& c : h) {
    if (c == '/' || c == ' ') c = '_';
  }
  return h;
}

// Suffix of every temporary this process makes: ".tmp.HOST.PID".
std::string temp_suffix() {
  return ".tmp." + host_name() + "." + std::to_string(::getpid());
}

std::string quote_path(const std::string& path) {
  return "'" + path + "'";
}

[[noreturn]] void fail(const std::string& path, const std::string& what, int err) {
  throw UserError("cannot write " + quote_path(path) + ": " + what + os_error_text(err));
}

// Writes all of `data` to `fd`; returns 0 or the errno of the failure.
int write_all(int fd, const std::string& data) {
  size_t done = 0;
  while (done < data.size()) {
    const ssize_t n = ::write(fd, data.data() + done, data.size() - done);
    if (n < 0) {
      if (errno == EINTR) continue;
      return errno;
    }
    if (n == 0) return EIO;
    done += static_cast<size_t>(n);
  }
  return 0;
}

// Creates and removes a probe file in `folder`: the one reliable test that it accepts files
// (access() says yes to root on a read-only file system). Returns 0 or the errno.
int probe_folder(const std::string& folder) {
  const std::string probe = (fs::path(folder) / (".probe" + temp_suffix())).string();
  const int fd = ::open(probe.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) return errno;
  ::close(fd);
  ::unlink(probe.c_str());
  return 0;
}

bool is_special(const struct stat& st) {
  return S_ISCHR(st.st_mode) || S_ISBLK(st.st_mode) || S_ISFIFO(st.st_mode) || S_ISSOCK(st.st_mode);
}

std::string parent_of(const std::string& path) {
  const fs::path p = fs::path(path).parent_path();
  return p.empty() ? std::string(".") : p.string();
}

// The file a write to `path` lands in: a symbolic link's target, else `path` itself.
std::string write_target(const std::string& path) {
  struct stat lst;
  if (::lstat(path.c_str(), &lst) == 0 && S_ISLNK(lst.st_mode)) {
    std::error_code ec;
    const fs::path target = fs::canonical(path, ec);
    if (!ec) return target.string();
  }
  return path;
}

// Whether process `pid` of this host may still run.
bool process_alive(long pid) {
  if (pid <= 0) return true;
  return ::kill(static_cast<pid_t>(pid), 0) == 0 || errno != ESRCH;
}

// Removes stale temporaries in `folder` whose name starts with `prefix` (all when empty).
int remove_stale(const std::string& folder, const std::string& prefix) {
  int removed = 0;
  std::error_code ec;
  fs::directory_iterator it(folder, ec);
  if (ec) return 0;
  const std::string host = host_name();
  for (; it != fs::directory_iterator(); it.increment(ec)) {
    if (ec) break;
    const std::string name = it->path().filename().string();
    if (name.compare(0, prefix.size(), prefix) != 0) continue;
    const size_t tmp = name.rfind(".tmp.");
    if (tmp == std::string::npos) continue;
    const std::string tail = name.substr(tmp + 5);  // "HOST.PID" or "PID" (older versions)
    const size_t dot = tail.rfind('.');
    const std::string pid_text = dot == std::string::npos ? tail : tail.substr(dot + 1);
    const std::string owner = dot == std::string::npos ? host : tail.substr(0, dot);
    if (pid_text.empty() || pid_text.size() > 9 ||
        pid_text.find_first_not_of("0123456789") != std::string::npos || owner != host) {
      continue;
    }
    if (process_alive(std::stol(pid_text))) continue;
    std::error_code rm;
    if (fs::remove_all(it->path(), rm) > 0 && !rm) ++removed;
  }
  return removed;
}

}  // namespace

std::string os_error_text(int err) {
  return std::strerror(err);
}

void check_output_file(const std::string& path, const std::string& flag) {
  if (path.empty()) throw UserError(flag + ": empty path");
  struct stat st;
  if (::stat(path.c_str(), &st) == 0) {
    if (S_ISDIR(st.st_mode)) {
      throw UserError(flag + " " + quote_path(path) + " is a folder; give a file name");
    }
    if (is_special(st)) return;
  }
  const std::string folder = parent_of(write_target(path));
  struct stat dst;
  if (::stat(folder.c_str(), &dst) != 0) {
    throw UserError(flag + " " + quote_path(path) + ": folder " + quote_path(folder) + ": " +
                    os_error_text(errno));
  }
  if (!S_ISDIR(dst.st_mode)) {
    throw UserError(flag + " " + quote_path(path) + ": " + quote_path(folder) + " is not a folder");
  }
  const int err = probe_folder(folder);
  if (err != 0) {
    throw UserError(flag + " " + quote_path(path) + ": cannot create files in " +
                    quote_path(folder) + ": " + os_error_text(err));
  }
}

int remove_stale_temporaries(const std::string& folder) {
  return remove_stale(folder, "");
}

void write_file_atomic(const std::string& path, const std::string& contents) {
  const std::string target = write_target(path);
  struct stat st;
  const bool exists = ::stat(target.c_str(), &st) == 0;
  if (exists && S_ISDIR(st.st_mode)) {
    throw UserError("cannot write " + quote_path(path) + ": it is a folder");
  }
  if (exists && is_special(st)) {
    // A device, pipe or socket is the destination itself: write into it, never replace it.
    const int fd = ::open(target.c_str(), O_WRONLY | O_CLOEXEC);
    if (fd < 0) fail(path, "", errno);
    const int err = write_all(fd, contents);
    const int closed = ::close(fd) == 0 ? 0 : errno;
    if (err != 0) fail(path, "", err);
    if (closed != 0 && closed != EINTR) fail(path, "", closed);
    return;
  }
  const fs::path tp(target);
  const std::string folder = parent_of(target);
  remove_stale(folder, tp.filename().string() + ".tmp.");
  const std::string tmp = target + temp_suffix();
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0666);
  if (fd < 0) {
    const int err = errno;
    struct stat dst;
    if (::stat(folder.c_str(), &dst) != 0) fail(path, "folder " + quote_path(folder) + ": ", errno);
    fail(path, "", err);
  }
  if (exists) ::fchmod(fd, st.st_mode & 07777);  // keep the permissions of the old version
  int err = write_all(fd, contents);
  if (err == 0 && ::fsync(fd) != 0 && errno != EINVAL) err = errno;
  if (::close(fd) != 0 && err == 0 && errno != EINTR) err = errno;
  if (err != 0) {
    ::unlink(tmp.c_str());
    fail(path, "", err);
  }
  if (::rename(tmp.c_str(), target.c_str()) != 0) {
    err = errno;
    ::unlink(tmp.c_str());
    fail(path, "", err);
  }
}

OutputFolder::OutputFolder(const std::string& dir, const std::string& flag)
    : dir_(dir), flag_(flag) {
  if (dir_.empty()) throw UserError(flag_ + ": empty folder name");
  while (dir_.size() > 1 && dir_.back() == '/') dir_.pop_back();
  dir_ = write_target(dir_);  // a link to a folder: write into the folder, keep the link
  struct stat st;
  if (::stat(dir_.c_str(), &st) == 0) {
    if (!S_ISDIR(st.st_mode)) {
      throw UserError(flag_ + " " + quote_path(dir) + " exists and is not a folder");
    }
    const int err = probe_folder(dir_);
    if (err != 0) {
      throw UserError(flag_ + " " + quote_path(dir) +
                      ": cannot create files in it: " + os_error_text(err));
    }
    return;
  }
  // The nearest existing ancestor must be a folder that accepts new entries.
  fs::path p = fs::path(dir_).parent_path();
  while (!p.empty() && ::stat(p.c_str(), &st) != 0) p = p.parent_path();
  const std::string ancestor = p.empty() ? std::string(".") : p.string();
  if (::stat(ancestor.c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) {
    throw UserError(flag_ + " " + quote_path(dir) + ": " + quote_path(ancestor) +
                    " is not a folder");
  }
  const int err = probe_folder(ancestor);
  if (err != 0) {
    throw UserError(flag_ + " " + quote_path(dir) + ": cannot create folders in " +
                    quote_path(ancestor) + ": " + os_error_text(err));
  }
}

OutputFolder::~OutputFolder() {
  if (!committed_ && !staging_.empty()) {
    std::error_code ec;
    fs::remove_all(staging_, ec);
  }
}

void OutputFolder::write(const std::string& name, const std::string& contents) {
  if (committed_) throw std::logic_error("OutputFolder::write after commit");
  if (staging_.empty()) {
    const std::string parent = parent_of(dir_);
    std::error_code ec;
    fs::create_directories(parent, ec);
    if (ec) {
      throw UserError(flag_ + " " + quote_path(dir_) + ": cannot create " + quote_path(parent) +
                      ": " + ec.message());
    }
    remove_stale(parent, "." + fs::path(dir_).filename().string() + ".tmp.");
    const std::string staging =
        (fs::path(parent) / ("." + fs::path(dir_).filename().string() + temp_suffix())).string();
    fs::remove_all(staging, ec);
    if (::mkdir(staging.c_str(), 0777) != 0) {
      throw UserError(flag_ + " " + quote_path(dir_) + ": cannot create a folder in " +
                      quote_path(parent) + ": " + os_error_text(errno));
    }
    staging_ = staging;
  }
  write_file_atomic((fs::path(staging_) / name).string(), contents);
  names_.push_back(name);
}

void OutputFolder::commit() {
  if (committed_) return;
  committed_ = true;
  if (staging_.empty()) {
    std::error_code ec;
    fs::create_directories(dir_, ec);
    if (ec) throw UserError(flag_ + " " + quote_path(dir_) + ": " + ec.message());
    return;
  }
  // A missing or empty destination is replaced in one step.
  if (::rename(staging_.c_str(), dir_.c_str()) == 0) return;
  const int err = errno;
  if (err != ENOTEMPTY && err != EEXIST) {
    committed_ = false;
    throw UserError("cannot write " + quote_path(dir_) + ": " + os_error_text(err));
  }
  remove_stale(dir_, "");
  for (const std::string& name : names_) {
    const std::string from = (fs::path(staging_) / name).string();
    const std::string to = write_target((fs::path(dir_) / name).string());
    struct stat st;
    if (::stat(to.c_str(), &st) == 0 && (is_special(st) || S_ISDIR(st.st_mode))) {
      committed_ = false;
      throw UserError("cannot write " + quote_path(to) + ": it is not a regular file");
    }
    if (::rename(from.c_str(), to.c_str()) != 0) {
      committed_ = false;
      throw UserError("cannot write " + quote_path(to) + ": " + os_error_text(errno));
    }
  }
  std::error_code ec;
  fs::remove_all(staging_, ec);
}

FolderLock::FolderLock(const std::string& dir, const std::string& what) {
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) throw UserError("cannot create folder " + quote_path(dir) + ": " + ec.message());
  const std::string path = (fs::path(dir) / ".lock").string();
  fd_ = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0666);
  if (fd_ < 0) throw UserError("cannot lock " + quote_path(dir) + ": " + os_error_text(errno));
  if (::flock(fd_, LOCK_EX | LOCK_NB) != 0) {
    const int err = errno;
    std::string holder;
    if (err == EWOULDBLOCK) {
      char buf[256] = {};
      const ssize_t n = ::pread(fd_, buf, sizeof buf - 1, 0);
      if (n > 0) holder.assign(buf, static_cast<size_t>(n));
      while (!holder.empty() && (holder.back() == '\n' || holder.back() == '\r')) {
        holder.pop_back();
      }
    }
    ::close(fd_);
    fd_ = -1;
    if (err != EWOULDBLOCK) {
      throw UserError("cannot lock " + quote_path(dir) + ": " + os_error_text(err));
    }
    throw UserError(quote_path(dir) + " is in use by another " + what + " (" +
                    (holder.empty() ? std::string("process unknown") : holder) +
                    "); wait for it to end or choose another folder");
  }
  char when[32] = {};
  const std::time_t now = std::time(nullptr);
  struct tm utc;
  ::gmtime_r(&now, &utc);
  std::strftime(when, sizeof when, "%Y-%m-%d %H:%M:%S UTC", &utc);
  const std::string holder =
      "process " + std::to_string(::getpid()) + " on " + host_name() + ", started " + when + "\n";
  if (::ftruncate(fd_, 0) == 0) {
    (void)::pwrite(fd_, holder.data(), holder.size(), 0);
  }
}

FolderLock::~FolderLock() {
  if (fd_ >= 0) ::close(fd_);
}

}  // namespace aimc::proto
