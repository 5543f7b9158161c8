// A Hugging Face model folder's tensors: one model.safetensors, or the shards that
// model.safetensors.index.json lists. Lookup by name, shape checks and conversion to the Eigen
// types the executor uses; errors name the file and the tensor.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "arch/linear_layer.h"
#include "workloads/safetensors.h"

namespace aimc::workloads {

class Checkpoint {
 public:
  /// Opens `folder`/model.safetensors if it exists, else the shards named by
  /// `folder`/model.safetensors.index.json (its "weight_map": tensor name -> shard file name).
  /// Throws UserError for: neither file present, malformed index, a shard name with a path in
  /// it, a missing shard file, a tensor the index lists that its shard lacks, and everything
  /// SafetensorsFile rejects.
  explicit Checkpoint(const std::string& folder);

  const std::string& folder() const { return folder_; }
  /// Tensor names in ascending order.
  std::vector<std::string> names() const;
  bool has(const std::string& name) const { return where_.count(name) != 0; }
  /// Number of safetensors files (1 unless sharded).
  int file_count() const { return static_cast<int>(files_.size()); }

  /// Path of the file holding `name`. This and the accessors below throw UserError naming the
  /// folder and the tensor when it is absent.
  const std::string& file_of(const std::string& name) const;
  const TensorInfo& info(const std::string& name) const;
  const std::vector<int64_t>& shape(const std::string& name) const { return info(name).shape; }

  /// Throws UserError "FILE: tensor NAME has shape [a, b], <reason> [c, d]" unless the tensor's
  /// shape is `expected`. `reason` says where the expectation comes from.
  void check_shape(const std::string& name, const std::vector<int64_t>& expected,
                   const std::string& reason = "expected") const;

  /// Elements as float32, row-major.
  std::vector<float> read(const std::string& name) const;
  /// A 2-D tensor as a (rows x cols) matrix, after check_shape(name, expected_shape).
  arch::Matrix to_matrix(const std::string& name, const std::vector<int64_t>& expected_shape,
                         const std::string& reason = "expected") const;
  /// A 1-D tensor of `expected_size` elements, after check_shape(name, {expected_size}).
  arch::Vector to_vector(const std::string& name, int64_t expected_size,
                         const std::string& reason = "expected") const;

 private:
  const SafetensorsFile& file_for(const std::string& name) const;

  std::string folder_;
  std::vector<std::unique_ptr<SafetensorsFile>> files_;
  std::map<std::string, int> where_;  ///< tensor name -> index into files_
};

}  // namespace aimc::workloads
