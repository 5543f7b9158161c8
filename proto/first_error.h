// The error collector of every protobuf text parse: keeps the first error with its position, as
// "SOURCE:LINE:COLUMN: message", for the UserError that names the file.
#pragma once

#include <google/protobuf/io/tokenizer.h>

#include <string>
#include <utility>

namespace aimc::proto {

class FirstError : public google::protobuf::io::ErrorCollector {
 public:
  explicit FirstError(std::string source) : source_(std::move(source)) {}
  void AddError(int line, google::protobuf::io::ColumnNumber column,
                const std::string& message) override {
    if (first_.empty())
      first_ = source_ + ":" + std::to_string(line + 1) + ":" + std::to_string(column + 1) + ": " +
               message;
  }
  void AddWarning(int, google::protobuf::io::ColumnNumber, const std::string&) override {}
  /// The first error, "" when there was none.
  const std::string& first() const { return first_; }

 private:
  std::string source_;
  std::string first_;
};

}  // namespace aimc::proto
