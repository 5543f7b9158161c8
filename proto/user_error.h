// The one error type for mistakes of the user (bad file, bad config, unknown name, model that
// does not fit). Every layer throws it; the program prints what() and exits with status 2.
// Internal failures use other exception types and exit with status 1.
#pragma once

#include <stdexcept>
#include <string>

namespace aimc {

/// A mistake in what the user asked for; the message is one clear sentence naming the file,
/// field or tensor at fault.
class UserError : public std::runtime_error {
 public:
  explicit UserError(const std::string& what) : std::runtime_error(what) {}
};

}  // namespace aimc
