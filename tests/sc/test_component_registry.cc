// Component tier: every SystemC component of the chip is registered (sim/chip/component_registry)
// and shows in the report: each of its statistics under its name, and its utilization.
#include <gtest/gtest.h>

#include <set>
#include <sstream>
#include <string>

#include "arch/sc_component.h"
#include "mapping/mapper.h"
#include "sc_test_util.h"
#include "sim/chip/chip_top.h"
#include "sim/chip/component_registry.h"
#include "sim/chip/timing_run.h"

namespace aimc {
namespace {

// In a child process (one SystemC elaboration per process): builds the default chip, checks that
// every module under it is a registered component, and returns the statistic names the report
// must have, one per line, derived from the components and their kinds' traits.
std::string expected_statistics(const proto::ChipConfig& config) {
  return sim::run_isolated([&] {
    sim::Chip chip("chip", config);
    const std::vector<arch::ScComponent*> all = chip.components();
    const std::set<const sc_core::sc_object*> registered(all.begin(), all.end());
    std::ostringstream names;
    for (const sc_core::sc_object* child : chip.get_child_objects()) {
      if (dynamic_cast<const arch::ScComponent*>(child) == nullptr)
        throw std::runtime_error(std::string(child->name()) + " is not an arch::ScComponent");
      if (registered.count(child) == 0)
        throw std::runtime_error(std::string(child->name()) + " is not in Chip::components()");
    }
    for (const sim::ComponentKind& kind : sim::component_kinds()) {
      const auto& instances = chip.components(kind.name);
      if (instances.empty()) throw std::runtime_error("no instance of " + kind.name);
      for (const arch::StatDef& s : kind.traits->stats) {
        if (kind.summed) {
          names << "chip." << kind.name << "*." << s.name << "\n";
        } else {
          for (const arch::ScComponent* c : instances) names << c->name() << "." << s.name << "\n";
        }
      }
    }
    return names.str();
  });
}

TEST(ComponentRegistry, EveryComponentIsRegisteredAndInTheReport) {
  const proto::ChipConfig chip = sim::testing::preset("default");
  const std::string expected = expected_statistics(chip);
  const workloads::ModelConfig model = sim::testing::tiny_model();
  sim::SimOptions o;
  o.prompt_tokens = 2;
  o.decode_tokens = 2;
  const proto::SimReport r =
      sim::simulate(chip, model, mapping::make_plan(model, chip, "dense"), o);
  std::set<std::string> in_report;
  for (const proto::Statistic& s : r.statistics()) in_report.insert(s.name());
  std::istringstream lines(expected);
  int n = 0;
  for (std::string name; std::getline(lines, name); ++n)
    EXPECT_EQ(in_report.count(name), 1u) << name << " is missing from the report's statistics";
  // tiles, ADC banks, 8 DPUs, noc, kv_sram, dram: 4 + 3 + 8 + 5 + 2 + 2 statistics.
  EXPECT_EQ(n, 24);
  const google::protobuf::Reflection* refl = r.utilization().GetReflection();
  for (const sim::ComponentKind& kind : sim::component_kinds()) {
    if (kind.utilization.empty()) continue;
    const auto* field = r.utilization().GetDescriptor()->FindFieldByName(kind.utilization);
    ASSERT_NE(field, nullptr) << kind.name;
    EXPECT_TRUE(refl->HasField(r.utilization(), field)) << kind.name << " utilization not set";
    EXPECT_GT(refl->GetDouble(r.utilization(), field), 0) << kind.name;
  }
}

TEST(ComponentRegistry, KindNamesAreUniqueAndDescribed) {
  std::set<std::string> names;
  for (const sim::ComponentKind& kind : sim::component_kinds()) {
    EXPECT_TRUE(names.insert(kind.name).second) << kind.name;
    EXPECT_FALSE(kind.description.empty()) << kind.name;
    EXPECT_FALSE(kind.traits->stats.empty()) << kind.name;
    EXPECT_FALSE(kind.traits->actions.empty()) << kind.name;
  }
}

}  // namespace
}  // namespace aimc
