// What one command may allocate or write, checked before the work starts: a command estimates
// the memory and output its arguments imply and refuses (UserError, exit 2) with the estimate
// and the limit in the message when they exceed the limits.
#pragma once

#include <string>

#include "proto/user_error.h"

namespace aimc::proto {

/// The limits in force for this process, in bytes.
struct ResourceLimits {
  double memory_bytes;  ///< $AIMCSIM_MAX_MEMORY_GB, else 3/4 of this machine's memory
  double output_bytes;  ///< $AIMCSIM_MAX_OUTPUT_GB, else 1 GB (one file or one run's files)
};

/// Reads the limits (environment first, then the defaults). Throws UserError for a malformed
/// environment value.
ResourceLimits resource_limits();

/// "1.5 GB", "320 MB", "12 kB": bytes with a decimal unit and 3 significant digits.
std::string format_bytes(double bytes);

/// Throws UserError "WHAT would need about X of memory, more than the limit of Y (...)" when
/// `bytes` exceeds the memory limit. `what` names the arguments, e.g. "--seeds 1000000000".
void check_memory_estimate(double bytes, const std::string& what);

/// The same for bytes written to files.
void check_output_estimate(double bytes, const std::string& what);

}  // namespace aimc::proto
