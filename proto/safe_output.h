// Writing outputs without losing or mixing anything: every file appears whole or not at all,
// special files (/dev/null, a terminal, a pipe) are written in place instead of being replaced,
// a run's files appear together, output paths are checked before the work starts, temporaries
// of killed processes are cleaned up, and a folder can be locked against a second writer.
// Every failure is a UserError naming the path and the operating system's reason.
#pragma once

#include <string>
#include <vector>

#include "proto/user_error.h"

namespace aimc::proto {

/// The operating system's text for `err` (an errno value), e.g. "No space left on device".
std::string os_error_text(int err);

/// Checks, before any work, that `path` can be written as a file: it is not a folder, and it
/// is a special file (written in place) or its folder exists and accepts new files. `flag`
/// names the path in the message (e.g. "--trace"). Throws UserError otherwise.
void check_output_file(const std::string& path, const std::string& flag);

/// Writes `contents` to `path` atomically: a temporary file in the same folder, flushed to disk,
/// then renamed over `path`. A symbolic link is followed (its target is replaced, the link
/// stays); a special file (character device, pipe, socket) is written in place and never
/// replaced. Temporaries left by dead processes for the same path are removed first. Throws
/// UserError "cannot write 'PATH': REASON" on failure, leaving `path` as it was.
void write_file_atomic(const std::string& path, const std::string& contents);

/// Removes `NAME.tmp.HOST.PID` entries in `folder` left by processes of this host that no
/// longer run. Returns how many were removed. Errors are ignored (best effort).
int remove_stale_temporaries(const std::string& folder);

/// The set of files of one run (report, config, mapping) written into a folder so that they
/// appear together or not at all. The files are written into a hidden staging folder beside the
/// destination; commit() renames it into place (one atomic rename when the destination does not
/// exist or is empty; otherwise each file is renamed over its old version in the order written,
/// so the last one marks a complete set). Nothing is created before the first file is written;
/// a staging folder that was not committed is removed by the destructor.
class OutputFolder {
 public:
  /// Checks at once that `dir` is or can become a writable folder (UserError naming `flag`).
  OutputFolder(const std::string& dir, const std::string& flag);
  ~OutputFolder();
  OutputFolder(const OutputFolder&) = delete;
  OutputFolder& operator=(const OutputFolder&) = delete;

  /// Writes one file of the set (into the staging folder).
  void write(const std::string& name, const std::string& contents);
  /// Moves the files written into the destination folder.
  void commit();
  const std::string& dir() const { return dir_; }

 private:
  std::string dir_;
  std::string flag_;
  std::string staging_;  ///< empty until the first write
  std::vector<std::string> names_;
  bool committed_ = false;
};

/// An exclusive lock on a folder (a `.lock` file inside it, created with the folder): a second
/// process that tries to lock the same folder gets a UserError naming the holder's process id,
/// host and start time. Released when the object is destroyed or the process ends.
class FolderLock {
 public:
  /// `what` names the user of the folder in the message, e.g. "sweep".
  FolderLock(const std::string& dir, const std::string& what);
  ~FolderLock();
  FolderLock(const FolderLock&) = delete;
  FolderLock& operator=(const FolderLock&) = delete;

 private:
  int fd_ = -1;
};

}  // namespace aimc::proto
