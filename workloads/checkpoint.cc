// Checkpoint: resolution of single-file and sharded Hugging Face checkpoints.
#include "workloads/checkpoint.h"

#include <sys/stat.h>

#include <fstream>
#include <sstream>

#include <nlohmann/json.hpp>

#include "proto/user_error.h"

namespace aimc::workloads {
namespace {

using Json = nlohmann::json;

bool is_regular_file(const std::string& path) {
  struct stat st;
  return ::stat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode);
}

std::string join(const std::string& folder, const std::string& file) {
  if (folder.empty()) return file;
  return folder.back() == '/' ? folder + file : folder + "/" + file;
}

}  // namespace

Checkpoint::Checkpoint(const std::string& folder) : folder_(folder) {
  const std::string single = join(folder, "model.safetensors");
  const std::string index_path = join(folder, "model.safetensors.index.json");
  // Hugging Face prefers the single file when both exist; so do we.
  if (is_regular_file(single)) {
    files_.push_back(std::make_unique<SafetensorsFile>(single));
    for (const std::string& name : files_[0]->names()) where_[name] = 0;
    return;
  }
  if (!is_regular_file(index_path)) {
    throw UserError(folder + ": no model.safetensors or model.safetensors.index.json");
  }
  std::ifstream in(index_path, std::ios::binary);
  std::ostringstream text;
  text << in.rdbuf();
  Json index;
  try {
    index = Json::parse(text.str());
  } catch (const Json::exception& e) {
    throw UserError(index_path + ": malformed JSON: " + e.what());
  }
  if (!index.is_object() || !index.contains("weight_map") || !index["weight_map"].is_object()) {
    throw UserError(index_path + ": has no \"weight_map\" object");
  }
  std::map<std::string, int> file_index;  // shard file name -> index into files_
  for (auto it = index["weight_map"].begin(); it != index["weight_map"].end(); ++it) {
    const std::string& tensor = it.key();
    if (!it.value().is_string()) {
      throw UserError(index_path + ": weight_map entry of tensor '" + tensor +
                      "' is not a file name");
    }
    const std::string shard = it.value().get<std::string>();
    // Shards live beside the index; a path would let an index reach any file on the machine.
    if (shard.empty() || shard.find('/') != std::string::npos || shard == "." || shard == "..") {
      throw UserError(index_path + ": shard '" + shard + "' of tensor '" + tensor +
                      "' is not a plain file name");
    }
    auto found = file_index.find(shard);
    if (found == file_index.end()) {
      const std::string shard_path = join(folder, shard);
      if (!is_regular_file(shard_path)) {
        throw UserError(index_path + ": shard file " + shard_path + " (holding tensor '" + tensor +
                        "') does not exist");
      }
      files_.push_back(std::make_unique<SafetensorsFile>(shard_path));
      found = file_index.emplace(shard, static_cast<int>(files_.size()) - 1).first;
    }
    if (!files_[found->second]->has(tensor)) {
      throw UserError(files_[found->second]->path() + ": tensor '" + tensor +
                      "' listed in model.safetensors.index.json is missing from this shard");
    }
    where_[tensor] = found->second;
  }
  if (files_.empty()) throw UserError(index_path + ": weight_map is empty");
}

std::vector<std::string> Checkpoint::names() const {
  std::vector<std::string> names;
  names.reserve(where_.size());
  for (const auto& entry : where_) names.push_back(entry.first);
  return names;
}

const SafetensorsFile& Checkpoint::file_for(const std::string& name) const {
  auto it = where_.find(name);
  if (it == where_.end()) throw UserError(folder_ + ": tensor '" + name + "' is missing");
  return *files_[it->second];
}

const std::string& Checkpoint::file_of(const std::string& name) const {
  return file_for(name).path();
}

const TensorInfo& Checkpoint::info(const std::string& name) const {
  return file_for(name).info(name);
}

void Checkpoint::check_shape(const std::string& name, const std::vector<int64_t>& expected,
                             const std::string& reason) const {
  const TensorInfo& t = info(name);
  if (t.shape != expected) {
    throw UserError(file_of(name) + ": tensor " + name + " has shape " + shape_to_string(t.shape) +
                    ", " + reason + " " + shape_to_string(expected));
  }
}

std::vector<float> Checkpoint::read(const std::string& name) const {
  return file_for(name).read(name);
}

arch::Matrix Checkpoint::to_matrix(const std::string& name,
                                   const std::vector<int64_t>& expected_shape,
                                   const std::string& reason) const {
  if (expected_shape.size() != 2) {
    throw std::invalid_argument("Checkpoint::to_matrix: expected_shape must be 2-D");
  }
  check_shape(name, expected_shape, reason);
  std::vector<float> data = read(name);
  using RowMajor = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
  return Eigen::Map<const RowMajor>(data.data(), expected_shape[0], expected_shape[1]);
}

arch::Vector Checkpoint::to_vector(const std::string& name, int64_t expected_size,
                                   const std::string& reason) const {
  check_shape(name, {expected_size}, reason);
  std::vector<float> data = read(name);
  return Eigen::Map<const arch::Vector>(data.data(), expected_size);
}

}  // namespace aimc::workloads
