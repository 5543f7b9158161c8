// The sweep's pieces without running the program: field-path overrides checked against the
// schema, sweep expansion, the Pareto front, and the CSV.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>

#include "arch/chip_costs.h"
#include "proto/chip_config_io.h"
#include "proto/user_error.h"
#include "sim/report/report_html.h"
#include "sim/report/sim_report.h"
#include "sim/report/sweep_report.h"
#include "sim/sweep/sweep.h"

namespace aimc::sim {
namespace {

const std::string kSource = AIMC_SOURCE_DIR;

std::string error_of(proto::ChipConfig* c, const std::string& path, const std::string& value) {
  try {
    set_config_field(c, path, value);
  } catch (const UserError& e) {
    return e.what();
  }
  return "";
}

TEST(SetConfigField, SetsNumbersEnumsBoolsAndOneofMembers) {
  proto::ChipConfig c = proto::load_chip_config(kSource + "/configs/default.pbtxt");
  set_config_field(&c, "tile.adc.bits", "6");
  set_config_field(&c, "tile.adc.t_conversion_ns", "9.6");
  set_config_field(&c, "tile.dac.encoding", "BIT_SERIAL");
  set_config_field(&c, "tile.double_buffered", "false");
  set_config_field(&c, "name", "swept");
  EXPECT_EQ(c.tile().adc().bits(), 6u);
  EXPECT_DOUBLE_EQ(c.tile().adc().t_conversion_ns(), 9.6);
  EXPECT_EQ(c.tile().dac().encoding(), proto::BIT_SERIAL);
  EXPECT_FALSE(c.tile().double_buffered());
  EXPECT_EQ(c.name(), "swept");
  // A member of another oneof case selects it.
  set_config_field(&c, "numerics.weight_noise.hermes.prog_noise_scale", "2");
  EXPECT_TRUE(c.numerics().weight_noise().has_hermes());
  EXPECT_FALSE(c.numerics().weight_noise().has_afm_pcm());
  EXPECT_DOUBLE_EQ(c.numerics().weight_noise().hermes().prog_noise_scale(), 2);
  // A whole message from its text-format body.
  set_config_field(&c, "numerics.weight_noise.gaussian", "{ gamma: 0.1 }");
  EXPECT_DOUBLE_EQ(c.numerics().weight_noise().gaussian().gamma(), 0.1);
  set_config_field(&c, "numerics.weight_noise.none", "{}");
  EXPECT_TRUE(c.numerics().weight_noise().has_none());
}

TEST(SetConfigField, RejectsBadPathsAndValues) {
  proto::ChipConfig c;
  EXPECT_NE(error_of(&c, "tile.adc.bitz", "6").find("no field 'bitz' in AdcConfig"),
            std::string::npos);
  EXPECT_NE(error_of(&c, "tile.adc.bits", "6.5").find("not an unsigned 32-bit integer"),
            std::string::npos);
  EXPECT_NE(error_of(&c, "tile.adc.bits", "-1").find("not an unsigned"), std::string::npos);
  EXPECT_NE(error_of(&c, "tile.rows", "").find("not an unsigned"), std::string::npos);
  // Integers as protobuf's text format reads them: no exponent, exact bounds.
  EXPECT_NE(error_of(&c, "tile.rows", "1e3").find("not an unsigned 32-bit"), std::string::npos);
  EXPECT_NE(error_of(&c, "tile.rows", "4294967296").find("not an unsigned"), std::string::npos);
  EXPECT_EQ(error_of(&c, "tile.rows", "4294967295"), "");
  EXPECT_EQ(c.tile().rows(), 4294967295u);
  EXPECT_NE(error_of(&c, "clock_ghz", "inf").find("not a number"), std::string::npos);
  EXPECT_NE(error_of(&c, "clock_ghz", "fast").find("not a number"), std::string::npos);
  EXPECT_NE(error_of(&c, "clock_ghz", "nan").find("not a number"), std::string::npos);
  EXPECT_NE(error_of(&c, "tile.kind", "analog").find("one of ANALOG, DIGITAL_W4A8, DIGITAL_FP"),
            std::string::npos);
  EXPECT_NE(error_of(&c, "dpu.nodes", "3").find("repeated"), std::string::npos);
  EXPECT_NE(error_of(&c, "tile.rows.x", "3").find("not a message"), std::string::npos);
  EXPECT_NE(error_of(&c, "tile.adc", "bitz: 3").find("not a AdcConfig"), std::string::npos);
  EXPECT_EQ(error_of(&c, "tile.adc.bits", "7"), "");
}

TEST(LoadSweep, ExpandsGridWithModelsOuterAndFirstAxisSlowest) {
  const SweepPlan plan = load_sweep(kSource + "/configs/sweeps/adc_bits_rows.pbtxt");
  ASSERT_EQ(plan.points.size(), 6u);
  EXPECT_EQ(plan.points[1].id, "001");
  EXPECT_EQ(plan.points[1].settings[0].value(), "6");
  EXPECT_EQ(plan.points[1].settings[1].value(), "512");
  EXPECT_EQ(plan.points[1].chip.tile().rows(), 512u);
  // Linked fields move with their axis.
  EXPECT_EQ(plan.points[0].chip.tile().adc().bits(), 6u);
  EXPECT_DOUBLE_EQ(plan.points[0].chip.tile().adc().t_conversion_ns(), 9.6);
  EXPECT_DOUBLE_EQ(plan.points[5].chip.energy().e_adc_conversion_pj(), 16);
  EXPECT_EQ(plan.points[0].model, "llama-3.2-1b");
  // Every point has its own fingerprint.
  for (size_t i = 0; i < plan.points.size(); ++i)
    for (size_t j = i + 1; j < plan.points.size(); ++j)
      EXPECT_NE(plan.points[i].inputs_key, plan.points[j].inputs_key);
}

TEST(LoadSweep, AdcBitsAloneMovesDerivedConversionTimeEnergyAndArea) {
  // A chip that leaves the converter costs to the cost model: sweeping tile.adc.bits alone
  // changes them as the closed forms say (CCO 2^(b-1) x 300 ps, Walden 2^b x 5.859375 fJ, area
  // 2^b x 4.6875 um2); the resolved points keep the fields unset.
  const std::string dir = ::testing::TempDir();
  { std::ofstream(dir + "/bare_chip.pbtxt") << "schema_version: 1\n"; }
  {
    std::ofstream(dir + "/adc_bits.pbtxt")
        << "chip: \"bare_chip.pbtxt\"\nmodels: \"gpt2\"\n"
           "axis { field: \"tile.adc.bits\" values: [\"4\", \"6\", \"8\", \"10\"] }\n";
  }
  const SweepPlan plan = load_sweep(dir + "/adc_bits.pbtxt");
  ASSERT_EQ(plan.points.size(), 4u);
  for (const SweepPoint& p : plan.points) {
    const int bits = static_cast<int>(p.chip.tile().adc().bits());
    const double steps = std::ldexp(1.0, bits);
    EXPECT_FALSE(p.chip.tile().adc().has_t_conversion_ns());
    EXPECT_DOUBLE_EQ(arch::adc_conversion_time_ns(p.chip), steps / 2 * 0.3) << bits;
    EXPECT_DOUBLE_EQ(arch::adc_conversion_energy_pj(p.chip), steps * 5.859375e-3) << bits;
    EXPECT_DOUBLE_EQ(arch::adc_area_um2(p.chip), steps * 4.6875) << bits;
    EXPECT_DOUBLE_EQ(arch::chip_area(p.chip).get("adc"), 64 * 256 * steps * 4.6875e-6) << bits;
  }
}

TEST(SweepCsv, DatasheetGivesAreaAndTopsPerMm2Columns) {
  proto::SweepResults results;
  for (int rows : {128, 256}) {
    proto::SimReport report;
    report.mutable_datasheet()->set_area_mm2(rows / 8.0);
    report.mutable_datasheet()->set_tops(rows / 4.0);
    report.mutable_datasheet()->set_tops_per_mm2(2.0);
    proto::SweepRow* row = results.add_rows();
    row->set_id(rows == 128 ? "000" : "001");
    row->set_status("ok");
    fill_row_results(report, row);
  }
  const std::string csv = sweep_csv(results);
  EXPECT_NE(csv.find(",area_mm2,peak_tops,peak_tops_per_w,tops_per_mm2,"), std::string::npos)
      << csv;
  EXPECT_NE(csv.find(",16,32,0,2,"), std::string::npos) << csv;
  EXPECT_NE(csv.find(",32,64,0,2,"), std::string::npos) << csv;
  EXPECT_NE(render_sweep_html(results).find("against chip area"), std::string::npos);
}

// A report of B sequences: throughput 1e5 x B tokens/s, TPOT p50 B us and p90 2 B us, energy
// 10 / B + 1 uJ per token of which 10 / B leakage.
proto::SimReport batch_report(int b) {
  proto::SimReport r;
  if (b > 1) {
    proto::BatchReport* br = r.mutable_batch();
    br->set_batch(b);
    br->set_decode_tokens_per_s(1e5 * b);
    br->set_tpot_p50_ns(1e3 * b);
    br->set_tpot_p90_ns(2e3 * b);
    br->set_tpot_p99_ns(3e3 * b);
    br->set_ttft_p50_ns(5e3 * b);
    br->set_bottleneck("DPU 1");
  } else {
    r.set_decode_tokens_per_s(1e5);
    r.set_ttft_ns(5e3);
    for (double ns : {1000.0, 3000.0, 2000.0, 1000.0}) r.add_decode_token_latency_ns(ns);
  }
  r.mutable_decode()->set_total_nj_per_token(1e4 / b + 1e3);
  proto::EnergyEntry* e = r.mutable_decode()->add_by_component();
  e->set_name("tile_leakage");
  e->set_nj_per_token(1e4 / b);
  e = r.mutable_decode()->add_by_component();
  e->set_name("adc");
  e->set_nj_per_token(1e3);
  return r;
}

TEST(SweepHtml, ServingCurvesOfABatchSweepGroupedByTheOtherAxis) {
  // Two chips (axis "bits") x batches 4, 1, 2 in that order: one curve per chip, in increasing
  // batch, with each point's throughput, TPOT and energy per token.
  proto::SweepResults results;
  int id = 0;
  for (const char* bits : {"6", "8"}) {
    for (int b : {4, 1, 2}) {
      proto::SweepRow* row = results.add_rows();
      row->set_id(std::to_string(id++));
      row->set_status("ok");
      row->set_model("m");
      row->set_mapping("dense");
      proto::SweepSetting* s = row->add_settings();
      s->set_field("bits");
      s->set_value(bits);
      s = row->add_settings();
      s->set_field("batch");
      s->set_value(std::to_string(b));
      fill_row_results(batch_report(b), row);
    }
  }
  const ServingCurves sc = serving_curves(results);
  EXPECT_FALSE(sc.by_rate);
  ASSERT_EQ(sc.curves.size(), 2u);
  EXPECT_EQ(sc.curves[0].name, "m dense bits=6");
  EXPECT_EQ(sc.curves[1].name, "m dense bits=8");
  const ServingCurve& c = sc.curves[1];
  EXPECT_EQ(c.ids, (std::vector<std::string>{"4", "5", "3"}));
  EXPECT_EQ(c.load, (std::vector<double>{1, 2, 4}));
  EXPECT_EQ(c.tokens_per_s, (std::vector<double>{1e5, 2e5, 4e5}));
  // Batch 1: nearest-rank percentiles of its decode token latencies (1, 1, 2, 3 us).
  EXPECT_EQ(c.tpot_p50_us, (std::vector<double>{1, 2, 4}));
  EXPECT_EQ(c.tpot_p90_us, (std::vector<double>{3, 4, 8}));
  EXPECT_EQ(c.uj_per_token, (std::vector<double>{11, 6, 3.5}));
  const std::string page = render_sweep_html(results);
  EXPECT_NE(page.find("Throughput against time per output token"), std::string::npos);
  EXPECT_NE(page.find("Energy per token against batch"), std::string::npos);
  EXPECT_NE(page.find("Energy per token against throughput"), std::string::npos);
  // The CSV carries the batch and the p90.
  const std::string csv = sweep_csv(results);
  EXPECT_NE(csv.find(",tpot_p50_us,tpot_p90_us,tpot_p99_us,"), std::string::npos) << csv;
}

TEST(SweepHtml, NoServingChartsWithoutALoadAxis) {
  proto::SweepResults results;
  for (int i = 0; i < 2; ++i) {
    proto::SweepRow* row = results.add_rows();
    row->set_id(std::to_string(i));
    row->set_status("ok");
    proto::SweepSetting* s = row->add_settings();
    s->set_field("tile.adc.bits");
    s->set_value(i == 0 ? "6" : "8");
    fill_row_results(batch_report(1), row);
  }
  EXPECT_TRUE(serving_curves(results).curves.empty());
  EXPECT_EQ(render_sweep_html(results).find("Throughput against time per output token"),
            std::string::npos);
}

TEST(SweepHtml, ServingCurvesOfARateSweep) {
  proto::SweepResults results;
  for (double rate : {2e4, 1e4}) {
    proto::SweepRow* row = results.add_rows();
    row->set_id(rate > 1.5e4 ? "0" : "1");
    row->set_status("ok");
    row->set_request_rate_per_s(rate);
    proto::SweepSetting* s = row->add_settings();
    s->set_field("run.rate");
    s->set_value(rate > 1.5e4 ? "20000" : "10000");
    proto::SimReport r;
    r.mutable_requests()->set_output_tokens_per_s(rate * 16);
    r.mutable_requests()->set_tpot_p50_ns(rate * 1e-3);
    r.mutable_requests()->set_tpot_p90_ns(rate * 2e-3);
    r.mutable_requests()->set_nj_per_output_token(1e8 / rate);
    fill_row_results(r, row);
  }
  const ServingCurves sc = serving_curves(results);
  EXPECT_TRUE(sc.by_rate);
  ASSERT_EQ(sc.curves.size(), 1u);
  EXPECT_EQ(sc.curves[0].load, (std::vector<double>{1e4, 2e4}));
  EXPECT_EQ(sc.curves[0].tokens_per_s, (std::vector<double>{1.6e5, 3.2e5}));
  EXPECT_EQ(sc.curves[0].tpot_p90_us, (std::vector<double>{0.02, 0.04}));
  EXPECT_EQ(sc.curves[0].uj_per_token, (std::vector<double>{10, 5}));
  EXPECT_NE(render_sweep_html(results).find("Energy per token against request rate"),
            std::string::npos);
}

TEST(ReportHtml, BatchCurveChartsCarryEachBatchsPoint) {
  proto::SimReport r;
  EXPECT_TRUE(batch_curve_charts(r).empty());
  for (int b : {1, 8, 32}) *r.add_batch_curve() = batch_curve_point(batch_report(b));
  EXPECT_EQ(r.batch_curve(0).tpot_p50_ns(), 1000);  // batch 1: its own decode tokens
  EXPECT_EQ(r.batch_curve(0).tpot_p90_ns(), 3000);
  EXPECT_EQ(r.batch_curve(2).decode_leakage_nj_per_token(), 1e4 / 32);
  EXPECT_EQ(r.batch_curve(2).bottleneck(), "DPU 1");
  const std::vector<html::XyChart> charts = batch_curve_charts(r);
  ASSERT_EQ(charts.size(), 2u);
  // Throughput against TPOT: p50 and p90 series.
  ASSERT_EQ(charts[0].series.size(), 2u);
  EXPECT_EQ(charts[0].series[0].x, (std::vector<double>{1, 8, 32}));
  EXPECT_EQ(charts[0].series[1].x, (std::vector<double>{3, 16, 64}));
  EXPECT_EQ(charts[0].series[0].y, (std::vector<double>{1e5, 8e5, 3.2e6}));
  // Energy per token against batch: total and leakage, in uJ.
  EXPECT_EQ(charts[1].series[0].x, (std::vector<double>{1, 8, 32}));
  EXPECT_EQ(charts[1].series[0].y, (std::vector<double>{11, 2.25, 1.3125}));
  EXPECT_EQ(charts[1].series[1].y, (std::vector<double>{10, 1.25, 0.3125}));
  EXPECT_NE(format_batch_curve(r).find("DPU 1"), std::string::npos);
}

TEST(LoadSweep, ListModeNeedsAxesOfEqualLength) {
  const std::string path = ::testing::TempDir() + "/list_mismatch.pbtxt";
  std::ofstream(path) << "mode: LIST\naxis { field: \"tile.adc.bits\" values: [\"6\", \"7\"] }\n"
                         "axis { field: \"tile.dac.bits\" values: [\"6\"] }\n";
  try {
    load_sweep(path);
    FAIL() << "expected a UserError";
  } catch (const UserError& e) {
    EXPECT_NE(std::string(e.what()).find(
                  "list_mismatch.pbtxt:3: axis 2 (tile.dac.bits): 1 values, but mode LIST"),
              std::string::npos)
        << e.what();
  }
}

// A mistake in a sweep file names the file and the line of the value, field or axis it is in
// (FILE:LINE), as a config's does.
TEST(LoadSweep, MistakesNameTheirLine) {
  const std::string dir = ::testing::TempDir();
  auto error_of = [&](const std::string& name, const std::string& text) {
    std::ofstream(dir + "/" + name) << text;
    try {
      load_sweep(dir + "/" + name);
    } catch (const UserError& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  auto starts = [](const std::string& text, const std::string& prefix) {
    return text.compare(0, prefix.size(), prefix) == 0;
  };
  // Each value written alone: the line of the bad value.
  std::string e = error_of("lines.pbtxt",
                           "name: \"lines\"\naxis {\n  field: \"tile.adc.bits\"\n"
                           "  values: \"6\"\n  values: \"many\"\n}\n");
  EXPECT_TRUE(starts(e, dir + "/lines.pbtxt:5: axis 1 (tile.adc.bits): tile.adc.bits: ")) << e;
  // A chip value out of its range, found when its point is validated: the value's line.
  e = error_of("range.pbtxt",
               "name: \"range\"\naxis {\n  field: \"tile.adc.bits\"\n"
               "  values: \"6\"\n  values: \"0\"\n}\n");
  EXPECT_TRUE(starts(e, dir + "/range.pbtxt:5: point 001 (tile.adc.bits=0): tile.adc.bits: must "
                              "be in 1..16, got 0"))
      << e;
  // Values in one list: the line of the list.
  e = error_of("list.pbtxt", "axis {\n  field: \"run.batch\"\n\n  values: [\"4\",\n \"0\"]\n}\n");
  EXPECT_TRUE(starts(e, dir + "/list.pbtxt:4: axis 1 (run.batch): run.batch: expected")) << e;
  // Lists and single values mixed: the axis's line.
  e = error_of("mixed.pbtxt",
               "\naxis {\n  field: \"run.rate\"\n  values: [\"4\", \"5\"]\n  values: "
               "\"-1\"\n}\n");
  EXPECT_TRUE(starts(e, dir + "/mixed.pbtxt:2: axis 1 (run.rate): run.rate: expected")) << e;
  // A linked field's value: the line of the linked field's value.
  e = error_of("linked.pbtxt",
               "axis {\n  field: \"tile.adc.bits\"\n  values: [\"6\", \"7\"]\n  linked {\n"
               "    field: \"tile.dac.bitz\"\n    values: [\"6\", \"7\"]\n  }\n}\n");
  EXPECT_TRUE(starts(e, dir + "/linked.pbtxt:6: axis 1 (tile.adc.bits): tile.dac.bitz: ")) << e;
  // A system value checked against the system's rules.
  e = error_of("system.pbtxt", "chip: \"" + kSource +
                                   "/tests/fixtures/systems/two-small.pbtxt\"\n"
                                   "axis { field: \"links.latency_ns\"\n values: \"100\"\n"
                                   " values: \"-5\" }\n");
  EXPECT_TRUE(starts(e, dir + "/system.pbtxt:4: axis 1 (links.latency_ns): value '-5': "
                              "links.latency_ns: must be in "))
      << e;
  // Run options, models and mappings: their own lines.
  e = error_of("run.pbtxt", "name: \"r\"\nrun {\n  prompt_tokens: 4\n  seeds: 0\n}\n");
  EXPECT_TRUE(starts(e, dir + "/run.pbtxt:4: run.seeds: must be in 1..")) << e;
  e = error_of("models.pbtxt", "models: \"gpt2\"\n\nmodels: \"no-such-model\"\n");
  EXPECT_TRUE(starts(e, dir + "/models.pbtxt:3: models[1]: ")) << e;
  e = error_of("mappings.pbtxt", "mappings: [\"dense\",\n \"nope\"]\n");
  EXPECT_TRUE(starts(e, dir + "/mappings.pbtxt:1: mappings[1]: unknown strategy 'nope'")) << e;
}

// run.split and run.lm_head pass `--split` and `--lm-head` to every point of a system sweep;
// they are checked as those flags are, refused with a chip base and at a point of one chip, and
// enter the fingerprint only when set.
TEST(LoadSweep, SystemMapOptionsPassTheRunsFlags) {
  const std::string dir = ::testing::TempDir();
  const std::string system = kSource + "/tests/fixtures/systems/two-small.pbtxt";
  auto write = [&](const std::string& name, const std::string& run) {
    std::ofstream(dir + "/" + name) << "chip: \"" << system
                                    << "\"\naxis { field: \"chips[0].count\" values: [\"2\", "
                                       "\"3\"] }\nrun {\n"
                                    << run << "}\n";
    return dir + "/" + name;
  };
  const SweepPlan plain = load_sweep(write("plain.pbtxt", "  prompt_tokens: 4\n"));
  const SweepPlan set = load_sweep(
      write("set.pbtxt", "  prompt_tokens: 4\n  split: \"input\"\n  lm_head: \"dram\"\n"));
  ASSERT_EQ(set.points.size(), 2u);
  for (size_t i = 0; i < 2; ++i) {
    const auto args = run_arguments(set, set.points[i], "system.pbtxt", "out", 1);
    const auto split = std::find(args.begin(), args.end(), "--split");
    ASSERT_NE(split, args.end());
    EXPECT_EQ(*(split + 1), "input");
    const auto lm_head = std::find(args.begin(), args.end(), "--lm-head");
    ASSERT_NE(lm_head, args.end());
    EXPECT_EQ(*(lm_head + 1), "dram");
    const auto none = run_arguments(plain, plain.points[i], "system.pbtxt", "out", 1);
    EXPECT_EQ(std::find(none.begin(), none.end(), "--split"), none.end());
    EXPECT_EQ(std::find(none.begin(), none.end(), "--lm-head"), none.end());
    EXPECT_NE(set.points[i].inputs_key, plain.points[i].inputs_key);
  }
  // The defaults written out keep the fingerprint of a sweep without them.
  const SweepPlan defaults = load_sweep(
      write("defaults.pbtxt", "  prompt_tokens: 4\n  split: \"auto\"\n  lm_head: \"chip\"\n"));
  EXPECT_EQ(defaults.points[0].inputs_key, plain.points[0].inputs_key);
  auto error_of = [&](const std::string& path) {
    try {
      load_sweep(path);
    } catch (const UserError& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  std::string e = error_of(write("bad_split.pbtxt", "  prompt_tokens: 4\n  split: \"rows\"\n"));
  EXPECT_EQ(e, dir +
                   "/bad_split.pbtxt:5: run.split: --split: unknown value 'rows' (known: auto, "
                   "output, input)");
  e = error_of(write("bad_lm_head.pbtxt", "  lm_head: \"sram\"\n"));
  EXPECT_EQ(e, dir +
                   "/bad_lm_head.pbtxt:4: run.lm_head: --lm-head: unknown value 'sram' (known: "
                   "chip, tiles, dram)");
  // A chip base is one chip.
  const std::string chip = dir + "/chip_base.pbtxt";
  std::ofstream(chip) << "chip: \"" << kSource << "/configs/default.pbtxt\"\nrun {\n"
                      << "  lm_head: \"tiles\"\n}\n";
  e = error_of(chip);
  EXPECT_NE(e.find("chip_base.pbtxt:3: run.lm_head: maps across the chips of a system"),
            std::string::npos)
      << e;
  // A point whose system is one chip.
  const std::string one = dir + "/one_chip.pbtxt";
  std::ofstream(one) << "chip: \"" << system
                     << "\"\naxis { field: \"chips[0].count\" values: [\"2\", \"1\"] }\n"
                        "run { split: \"output\" }\n";
  e = error_of(one);
  EXPECT_NE(e.find("point 001 (chips[0].count=1): a system of one chip, which run.split cannot"),
            std::string::npos)
      << e;
}

TEST(LoadSweep, BatchAxisSetsTheRunsBatch) {
  const SweepPlan plan = load_sweep(kSource + "/configs/sweeps/batch.pbtxt");
  ASSERT_EQ(plan.points.size(), 7u);
  const int batches[] = {1, 2, 4, 8, 16, 32, 64};
  for (size_t i = 0; i < plan.points.size(); ++i) {
    EXPECT_EQ(plan.points[i].batch, batches[i]);
    EXPECT_EQ(plan.points[i].settings[0].field(), "batch");
    const auto args = run_arguments(plan, plan.points[i], "chip.pbtxt", "out", 1);
    const auto it = std::find(args.begin(), args.end(), "--batch");
    if (batches[i] == 1) {
      EXPECT_EQ(it, args.end());
    } else {
      ASSERT_NE(it, args.end());
      EXPECT_EQ(*(it + 1), std::to_string(batches[i]));
    }
    for (size_t j = 0; j < i; ++j) EXPECT_NE(plan.points[i].inputs_key, plan.points[j].inputs_key);
  }
  // The chip is the same at every point: the batch is not a chip field.
  EXPECT_EQ(proto::to_text(plan.points[0].chip), proto::to_text(plan.points[6].chip));
  // Values read as protobuf's text format reads an unsigned integer field: no 0, no fraction,
  // no exponent, nothing beyond 65536.
  const std::string path = ::testing::TempDir() + "/bad_batch.pbtxt";
  for (const std::string& bad :
       std::vector<std::string>{"0", "2.0", "1e3", "-1", "65537", "4x", ""}) {
    std::ofstream(path) << "axis { field: \"run.batch\" values: [\"4\", \"" << bad << "\"] }\n";
    try {
      load_sweep(path);
      FAIL() << "expected a UserError for '" << bad << "'";
    } catch (const UserError& e) {
      EXPECT_NE(std::string(e.what()).find("bad_batch.pbtxt:1: axis 1 (run.batch): run.batch: "
                                           "expected an integer in 1..65536, got '" +
                                           bad + "'"),
                std::string::npos)
          << e.what();
    }
  }
}

TEST(LoadSweep, SystemBaseTakesSystemFieldPaths) {
  const SweepPlan plan = load_sweep(kSource + "/configs/sweeps/system_links.pbtxt");
  ASSERT_TRUE(plan.system);
  ASSERT_EQ(plan.points.size(), 3u);
  const double bandwidths[] = {0.5, 5, 50};
  for (size_t i = 0; i < plan.points.size(); ++i) {
    const SweepPoint& p = plan.points[i];
    ASSERT_TRUE(p.is_system);
    EXPECT_EQ(p.system.links().bandwidth_gbps(), bandwidths[i]);
    // The rest of the base is kept: two inline chips of 32 tiles, the ring's latency.
    ASSERT_EQ(p.system.chips_size(), 1);
    EXPECT_EQ(p.system.chips(0).count(), 2u);
    EXPECT_EQ(p.system.chips(0).config().tile().count(), 32u);
    EXPECT_EQ(p.system.links().latency_ns(), 100);
    EXPECT_NE(point_config_text(p).find("links"), std::string::npos);
    for (size_t j = 0; j < i; ++j) EXPECT_NE(p.inputs_key, plan.points[j].inputs_key);
  }
  // An element of a repeated field by its index; the repeated field itself, a missing element
  // and an index on a plain field are refused naming the path.
  proto::SystemConfig system = plan.points[0].system;
  set_message_field(&system, "chips[0].count", "3");
  set_message_field(&system, "chips[0].config.tile.adc.bits", "6");
  EXPECT_EQ(system.chips(0).count(), 3u);
  EXPECT_EQ(system.chips(0).config().tile().adc().bits(), 6u);
  const std::pair<const char*, const char*> bad[] = {
      {"chips", "chips is a repeated field"},
      {"chips[1].count", "chips[1] has no element 1 (it has 1)"},
      {"links[0].latency_ns", "links is not a repeated field"},
      {"chips[x].count", "'chips[x]' is not NAME or NAME[INDEX]"},
      {"chips[0].countt", "no field 'countt' in ChipGroup (at chips[0].countt)"}};
  for (const auto& [path, message] : bad) {
    try {
      set_message_field(&system, path, "1");
      ADD_FAILURE() << "expected a UserError for " << path;
    } catch (const UserError& e) {
      EXPECT_NE(std::string(e.what()).find(message), std::string::npos) << e.what();
    }
  }
}

TEST(LoadSweep, RateAxisMakesServingPoints) {
  const SweepPlan plan = load_sweep(kSource + "/configs/sweeps/serving.pbtxt");
  ASSERT_EQ(plan.points.size(), 6u);
  EXPECT_DOUBLE_EQ(plan.points[2].rate, 20000);
  const auto args = run_arguments(plan, plan.points[2], "chip.pbtxt", "out", 1);
  const std::vector<std::string> serving = {"--arrivals", "poisson", "--rate",      "20000",
                                            "--requests", "200",     "--max-batch", "16"};
  EXPECT_NE(std::search(args.begin(), args.end(), serving.begin(), serving.end()), args.end());
  // A serving report fills the serving columns of its row.
  proto::SimReport report;
  report.mutable_requests()->set_output_tokens_per_s(1234);
  report.mutable_requests()->set_ttft_p99_ns(5000);
  proto::SweepRow row;
  fill_row_results(report, &row);
  EXPECT_DOUBLE_EQ(row.output_tokens_per_s(), 1234);
  EXPECT_DOUBLE_EQ(row.ttft_p99_us(), 5);
  // Values read as protobuf's text format reads a double field: "2e4" is 20000, "inf", "0", a
  // negative number or trailing text are refused.
  const std::string path = ::testing::TempDir() + "/bad_rate.pbtxt";
  std::ofstream(path) << "axis { field: \"run.rate\" values: [\"2e4\"] }\n";
  EXPECT_DOUBLE_EQ(load_sweep(path).points[0].rate, 20000);
  for (const std::string& bad : std::vector<std::string>{"-3", "0", "inf", "nan", "5 rps", ""}) {
    std::ofstream(path) << "axis { field: \"run.rate\" values: [\"" << bad << "\"] }\n";
    try {
      load_sweep(path);
      FAIL() << "expected a UserError for '" << bad << "'";
    } catch (const UserError& e) {
      EXPECT_NE(std::string(e.what()).find("run.rate: expected requests per second > 0, got '" +
                                           bad + "'"),
                std::string::npos)
          << e.what();
    }
  }
}

// run.arrival_seed and run.chip_seed pass `--arrival-seed` (to the points of a run.rate axis)
// and `--chip-seed`; left at 0 they keep the fingerprint of a sweep without them.
TEST(LoadSweep, RunSeedsPassTheRunsFlags) {
  const std::string path = ::testing::TempDir() + "/seeds.pbtxt";
  auto plan_of = [&](const std::string& run) {
    std::ofstream(path) << "axis { field: \"run.rate\" values: [\"2e4\"] }\nrun {\n"
                        << run << "}\n";
    return load_sweep(path);
  };
  auto after = [](const std::vector<std::string>& args, const std::string& flag) {
    const auto it = std::find(args.begin(), args.end(), flag);
    return it == args.end() || it + 1 == args.end() ? std::string("absent") : *(it + 1);
  };
  const SweepPlan set = plan_of("  arrival_seed: 7\n  chip_seed: 3\n");
  const auto args = run_arguments(set, set.points[0], "chip.pbtxt", "out", 1);
  EXPECT_EQ(after(args, "--arrival-seed"), "7");
  EXPECT_EQ(after(args, "--chip-seed"), "3");
  const SweepPlan plain = plan_of("");
  const auto none = run_arguments(plain, plain.points[0], "chip.pbtxt", "out", 1);
  EXPECT_EQ(after(none, "--arrival-seed"), "0");
  EXPECT_EQ(after(none, "--chip-seed"), "absent");
  EXPECT_NE(set.points[0].inputs_key, plain.points[0].inputs_key);
  EXPECT_EQ(plan_of("  arrival_seed: 0\n  chip_seed: 0\n").points[0].inputs_key,
            plain.points[0].inputs_key);
  // Read as the flags are (an unsigned 64-bit integer); a mistake names the file and line.
  try {
    plan_of("  arrival_seed: -1\n");
    FAIL() << "expected a UserError";
  } catch (const UserError& e) {
    EXPECT_NE(std::string(e.what()).find("seeds.pbtxt:3"), std::string::npos) << e.what();
  }
}

TEST(ParetoFront, KeepsPointsNoOtherBeatsOnBothAxes) {
  const std::vector<double> x = {1, 2, 3, 2.5, 0.5};
  const std::vector<double> y = {5, 3, 1, 4, 9};
  EXPECT_EQ(pareto_front(x, y), (std::vector<size_t>{4, 0, 1, 2}));
}

TEST(SweepCsv, QuotesFieldsWithCommas) {
  proto::SweepResults r;
  proto::SweepRow* row = r.add_rows();
  row->set_id("000");
  row->set_status("error");
  row->set_error("model 'x' does not fit, \"really\"");
  auto* s = row->add_settings();
  s->set_field("tile.rows");
  s->set_value("256");
  const std::string csv = sweep_csv(r);
  EXPECT_NE(csv.find(",tile.rows,status,"), std::string::npos) << csv;
  EXPECT_NE(csv.find(",\"model 'x' does not fit, \"\"really\"\"\","), std::string::npos) << csv;
}

}  // namespace
}  // namespace aimc::sim
