// The chip datasheet (proto::ChipDatasheet) as text for people and as JSON.
#pragma once

#include <string>

#include "proto/sim_report.pb.h"

namespace aimc::sim {

/// Aligned text: peak TOPS, TOPS/W, TOPS/mm2, power and area; one tile's figures; the read
/// interval and its bound; power by component kind (chip and per tile); area by component kind.
std::string format_datasheet(const proto::ChipDatasheet& datasheet);

/// The datasheet as JSON (protobuf JSON mapping, field names as in the .proto).
std::string datasheet_to_json(const proto::ChipDatasheet& datasheet);

}  // namespace aimc::sim
