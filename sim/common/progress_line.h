// The one progress line on a terminal: rewritten in place on stderr, cleared when the work ends,
// so that what a command prints on stdout stays clean.
#pragma once

#include <functional>
#include <string>

namespace aimc::sim {

/// Whether stderr is a terminal (progress lines are shown only there).
bool stderr_is_tty();

/// Replaces the progress line with `line`.
void show_progress_line(const std::string& line);

/// Erases the progress line.
void clear_progress_line();

/// A callback that shows each line it gets, safe to call from several threads; empty when
/// stderr is not a terminal.
std::function<void(const std::string&)> tty_progress();

}  // namespace aimc::sim
