// An accuracy evaluation as the CLI runs it: which model, which data, and the options; shared
// by `aimcsim eval` and `aimcsim run`.
#pragma once

#include <string>

#include "proto/chip_config.pb.h"
#include "proto/sim_report.pb.h"
#include "sim/app/flags.h"
#include "workloads/dataset.h"
#include "workloads/evaluation.h"
#include "workloads/transformer_weights.h"

namespace aimc::sim {

struct EvalJob {
  /// Model folder; a shape card only with synthetic weights.
  std::string model;
  /// --synthetic-weights SEED: seeded synthetic weights of the model's shapes
  /// (workloads::synthetic_transformer) instead of a checkpoint; without --data, seeded random
  /// tokens. For measuring speed and memory at scale: the accuracy figures are meaningless.
  bool synthetic = false;
  uint64_t synthetic_seed = 0;
  std::string data;        ///< evaluation token file
  std::string calib;       ///< calibration token file; empty = carve from the front of `data`
  std::string logits_out;  ///< directory for exported logits (empty = no export)
  workloads::EvalTableOptions options;
};

/// Adds the evaluation flags (--data, --calib, --seeds, --seed, --window, --windowing,
/// --stride, --max-windows, --threads, --synthetic-weights, --logits-out, --logits-positions).
void add_eval_flags(po::options_description* options);

/// The job the flags describe, with the bundled texts as defaults for the bundled model.
EvalJob eval_job_from_flags(const po::variables_map& vm, const proto::ChipConfig& chip);

/// A model folder's weights and the job's tokens, loaded once for the accuracy evaluation and
/// the timed run of `aimcsim run`.
struct LoadedJob {
  workloads::TransformerWeights weights;
  workloads::TokenIds eval_tokens;   ///< evaluated text (calibration carved off); empty: no data
  workloads::TokenIds calib_tokens;  ///< --calib, or the front of the data; empty: no data
};

/// Loads the model folder and, when the job names data, its tokens. Without a calibration file
/// the calibration windows are carved off the front of the data, but only when some layer's
/// range must be calibrated on this chip (workloads::calibration_needed). Throws UserError for
/// a shape card, bad files, or data too short to carve.
LoadedJob load_job(const EvalJob& job, const proto::ChipConfig& chip);

/// Loads the model and data and evaluates FP32, W4A8 and the chip's tiles. Progress lines go
/// to stderr when it is a terminal. Throws UserError for a shape card, missing data, bad files.
workloads::EvalTable run_eval_job(const EvalJob& job, const proto::ChipConfig& chip);

/// The same on a job already loaded by load_job(job, chip). Writes the exported logits when
/// the job asks for them (rank 0 under MPI).
workloads::EvalTable run_eval_job(const EvalJob& job, const proto::ChipConfig& chip,
                                  const LoadedJob& loaded);

/// The table as the report's accuracy section (and the file `aimcsim eval --json` writes);
/// `data` names the evaluated token file.
proto::AccuracyReport accuracy_report(const workloads::EvalTable& table, const std::string& data);

}  // namespace aimc::sim
