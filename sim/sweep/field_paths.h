// Setting a chip-config field by its dotted path from text, as a sweep axis does: the path
// checked against the schema, the value read as protobuf's text format reads that field.
#pragma once

#include <google/protobuf/message.h>

#include <string>
#include <utility>
#include <vector>

#include "proto/chip_config.pb.h"

namespace aimc::sim {

/// Sets the ChipConfig field at dotted `path` (e.g. "tile.adc.bits", a oneof member
/// "numerics.weight_noise.afm_pcm.noise_scale") from `value`, checked against the field's
/// type. Throws UserError "<path>: <why>" for an unknown field, a repeated or message field, or
/// a value that does not parse as the field's type.
void set_config_field(proto::ChipConfig* config, const std::string& path, const std::string& value);

/// As set_config_field, on any message (a sweep's base: a ChipConfig or a SystemConfig). An
/// element of a repeated message field is named with its index: "chips[0].count",
/// "chips[1].config.tile.adc.bits"; a repeated field itself cannot be set.
void set_message_field(google::protobuf::Message* root, const std::string& path,
                       const std::string& value);

/// The oneofs a field path passes through, each as (path of the oneof, path of its member): e.g.
/// "numerics.weight_noise.afm_pcm.noise_scale" gives ("numerics.weight_noise.model",
/// "numerics.weight_noise.afm_pcm"). Stops at the first name that is not a field (setting the
/// value names that mistake). `root`: the message type the path starts in (null: ChipConfig).
std::vector<std::pair<std::string, std::string>> oneofs_on_path(
    const std::string& path, const google::protobuf::Descriptor* root = nullptr);

}  // namespace aimc::sim
