// The program as a user runs it: `aimcsim run --out` and its report files (report.html opened
// in headless Chromium), `aimcsim sweep` (rows, resume, a failing point), and user mistakes.
#include <gtest/gtest.h>

#include <google/protobuf/util/json_util.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <regex>
#include <string>

#include "proto/sim_report.pb.h"
#include "proto/sweep.pb.h"
#include "tests/cli/run_program.h"

namespace aimc::test {
namespace {

namespace fs = std::filesystem;
const std::string kSource = AIMC_SOURCE_DIR;
const char* kChromium = "/usr/bin/chromium";

// A fresh folder under the system temp folder, removed at the end of the test program.
std::string temp_dir(const std::string& name) {
  const fs::path dir =
      fs::temp_directory_path() / ("aimcsim_e2e_" + std::to_string(::getpid()) + "_" + name);
  fs::remove_all(dir);
  fs::create_directories(dir);
  return dir.string();
}

void write_text(const std::string& path, const std::string& text) {
  std::ofstream(path) << text;
}

template <typename M>
M parse_json(const std::string& path) {
  M m;
  google::protobuf::util::JsonParseOptions options;
  options.ignore_unknown_fields = true;
  const auto status = google::protobuf::util::JsonStringToMessage(slurp(path), &m, options);
  EXPECT_TRUE(status.ok()) << path << ": " << status.ToString();
  return m;
}

// Renders `html` in headless Chromium and returns the dumped DOM ("" when it failed).
std::string dump_dom(const std::string& html) {
  const std::string profile = temp_dir("chromium_profile_" + fs::path(html).stem().string());
  const std::string out = profile + "/dom.html";
  const std::string cmd = std::string("timeout 90 ") + kChromium +
                          " --headless --no-sandbox --disable-gpu --disable-quic --no-first-run "
                          "--disable-background-networking --disable-component-update "
                          "--disable-sync --user-data-dir=" +
                          profile + " --dump-dom file://" + html + " > " + out +
                          " 2> /dev/null < /dev/null";
  EXPECT_EQ(std::system(cmd.c_str()), 0) << cmd;
  return slurp(out);
}

int count(const std::string& text, const std::string& what) {
  int n = 0;
  for (size_t p = text.find(what); p != std::string::npos; p = text.find(what, p + 1)) ++n;
  return n;
}

const proto::AccuracyRow* backend(const proto::SimReport& r, const std::string& name) {
  for (const auto& row : r.accuracy().rows())
    if (row.backend() == name) return &row;
  return nullptr;
}

// One real default run (bundled chip and model), shared by the tests that read its files.
class DefaultRun : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new std::string(temp_dir("run"));
    result_ = new ProgramResult(run_aimcsim("run --seeds 3 --max-windows 8 --out " + *dir_));
  }
  static void TearDownTestSuite() {
    fs::remove_all(*dir_);
    delete dir_;
    delete result_;
  }
  static std::string* dir_;
  static ProgramResult* result_;
};
std::string* DefaultRun::dir_ = nullptr;
ProgramResult* DefaultRun::result_ = nullptr;

TEST_F(DefaultRun, WritesEveryReportFile) {
  ASSERT_EQ(result_->status, 0) << result_->err;
  for (const char* f : {"report.json", "report.html", "config.resolved.pbtxt", "mapping.pbtxt"}) {
    EXPECT_TRUE(fs::is_regular_file(*dir_ + "/" + f)) << f;
  }
  // Progress lines only go to a terminal.
  EXPECT_TRUE(result_->err.empty()) << result_->err;
}

TEST_F(DefaultRun, ReportHasPlausibleHeadlineFigures) {
  ASSERT_EQ(result_->status, 0) << result_->err;
  const auto r = parse_json<proto::SimReport>(*dir_ + "/report.json");
  EXPECT_EQ(r.prompt_tokens(), 32u);
  EXPECT_EQ(r.decode_tokens(), 32u);
  EXPECT_GT(r.ttft_ns(), 0);
  EXPECT_GT(r.decode_latency_ns(), 0);
  EXPECT_EQ(r.decode_token_latency_ns_size(), 32);
  EXPECT_NEAR(r.decode_tokens_per_s(), 1e9 / r.decode_latency_ns(), 1e-6 * r.decode_tokens_per_s());
  EXPECT_GE(r.total_time_ns(), r.ttft_ns() + 0.99 * 32 * r.decode_latency_ns());
  for (const proto::PhaseEnergy* p : {&r.prefill(), &r.decode()}) {
    EXPECT_GT(p->total_nj_per_token(), 0);
    double sum = 0;
    for (const auto& e : p->by_component()) {
      EXPECT_GE(e.nj_per_token(), 0) << e.name();
      sum += e.nj_per_token();
    }
    EXPECT_NEAR(sum, p->total_nj_per_token(), 1e-6 * p->total_nj_per_token());
    EXPECT_GT(p->ops_per_token(), 0);
    EXPECT_GT(p->tops_per_w(), 0);
    EXPECT_LT(p->tops_per_w(), 1000);  // far beyond any analog chip
  }
  EXPECT_GT(r.mapping().summary().tiles_used(), 0u);
  EXPECT_LE(r.mapping().summary().tiles_used(), r.mapping().summary().tiles_available());

  const proto::AccuracyRow* fp32 = backend(r, "FP32");
  const proto::AccuracyRow* w4a8 = backend(r, "W4A8");
  const proto::AccuracyRow* analog = backend(r, "analog");
  ASSERT_TRUE(fp32 && w4a8 && analog);
  EXPECT_EQ(analog->runs(), 3u);
  EXPECT_EQ(analog->run_perplexity_size(), 3);
  EXPECT_GT(fp32->perplexity().mean(), 1.0);
  EXPECT_LT(fp32->perplexity().mean(), 256.0);  // byte-level: better than uniform
  EXPECT_GE(analog->perplexity().mean(), fp32->perplexity().mean());
  EXPECT_GE(w4a8->perplexity().mean(), fp32->perplexity().mean());
  EXPECT_GT(analog->perplexity().std(), 0);
  EXPECT_GT(analog->top1().mean(), 0.0);
  EXPECT_LE(analog->top1().mean(), fp32->top1().mean() + 0.05);
  EXPECT_GE(analog->kl().mean(), 0.0);
  EXPECT_NEAR(fp32->kl().mean(), 0.0, 1e-9);
}

TEST_F(DefaultRun, ReportHtmlIsSelfContained) {
  ASSERT_EQ(result_->status, 0) << result_->err;
  const std::string html = slurp(*dir_ + "/report.html");
  EXPECT_EQ(html.rfind("<!DOCTYPE html>", 0), 0u);
  EXPECT_GE(count(html, "<svg class=\"chart\""), 6);
  // Nothing fetched: no external scripts, styles, fonts or images.
  EXPECT_EQ(count(html, "src="), 0);
  EXPECT_EQ(count(html, "<link"), 0);
  EXPECT_EQ(count(html, "@import"), 0);
  EXPECT_EQ(count(html, "url(http"), 0);
  for (const char* label : {"energy per token (nJ)", "latency (us)", "perplexity", "FP32", "W4A8",
                            "cells used (%)", "prefill", "decode"}) {
    EXPECT_NE(html.find(label), std::string::npos) << label;
  }
  // The accuracy table states its windowing and what it counted, as the text table does.
  EXPECT_NE(html.find("8 windows (W = 128, disjoint windowing): 1032 tokens read, 1024 "
                      "predictions per run"),
            std::string::npos);
}

TEST_F(DefaultRun, ReportHtmlRendersInChromium) {
  ASSERT_EQ(result_->status, 0) << result_->err;
  if (!fs::exists(kChromium)) GTEST_SKIP() << kChromium << " is absent (scripts/setup installs it)";
  const std::string html = *dir_ + "/report.html";
  const int charts = count(slurp(html), "<svg class=\"chart\"");
  const std::string dom = dump_dom(html);
  EXPECT_NE(dom.find("<div id=\"render-check\">ok " + std::to_string(charts) + " charts</div>"),
            std::string::npos)
      << dom.substr(0, 400);
}

std::string bundled_sweep() {
  return kSource + "/configs/sweeps/bundled_adc_noise.pbtxt";
}

TEST(Sweep, WritesOneRowPerPointAndResumesOnlyMissingPoints) {
  const std::string dir = temp_dir("sweep");
  const ProgramResult first = run_aimcsim("sweep " + bundled_sweep() + " -j 2 --out " + dir);
  ASSERT_EQ(first.status, 0) << first.err << first.out;
  EXPECT_TRUE(first.err.empty()) << first.err;  // no progress line when stderr is redirected
  EXPECT_NE(first.out.find("running 3 (2 at a time)"), std::string::npos) << first.out;

  const std::string csv = slurp(dir + "/sweep.csv");
  EXPECT_EQ(count(csv, "\n"), 4) << csv;
  EXPECT_EQ(csv.rfind("index,id,model,mapping,tile.adc.bits,noise_scale,status,ttft_us", 0), 0u)
      << csv;
  auto results = parse_json<proto::SweepResults>(dir + "/sweep.json");
  ASSERT_EQ(results.rows_size(), 3);
  for (int i = 0; i < 3; ++i) {
    const proto::SweepRow& row = results.rows(i);
    EXPECT_EQ(row.index(), static_cast<uint32_t>(i));
    EXPECT_EQ(row.status(), "ok") << row.error();
    EXPECT_GT(row.ttft_us(), 0);
    EXPECT_GT(row.decode_nj_per_token(), 0);
    EXPECT_GT(row.tiles_used(), 0u);
    EXPECT_GE(row.ppl_analog_mean(), row.ppl_fp32());
    EXPECT_EQ(row.seeds(), 3u);
    EXPECT_TRUE(fs::is_regular_file(dir + "/points/" + row.id() + "/report.html"));
  }
  // Same chip timing, different numerics: noise scale 2 hurts perplexity.
  EXPECT_GT(results.rows(2).ppl_analog_mean(), results.rows(1).ppl_analog_mean());
  EXPECT_TRUE(fs::is_regular_file(dir + "/sweep.html"));

  // Drop the middle row as if the sweep had been interrupted before it finished.
  const std::string kept0 = results.rows(0).finished_at();
  const std::string kept2 = results.rows(2).finished_at();
  const std::string dropped = results.rows(1).finished_at();
  results.mutable_rows()->DeleteSubrange(1, 1);
  std::string json;
  ASSERT_TRUE(google::protobuf::util::MessageToJsonString(results, &json).ok());
  write_text(dir + "/sweep.json", json);

  const ProgramResult again = run_aimcsim("sweep " + bundled_sweep() + " -j 2 --out " + dir);
  ASSERT_EQ(again.status, 0) << again.err;
  EXPECT_NE(again.out.find("resumed 2 already done, running 1"), std::string::npos) << again.out;
  EXPECT_EQ(count(again.out, "/3] "), 1) << again.out;  // one point ran
  const auto resumed = parse_json<proto::SweepResults>(dir + "/sweep.json");
  ASSERT_EQ(resumed.rows_size(), 3);
  EXPECT_EQ(resumed.rows(0).finished_at(), kept0);
  EXPECT_EQ(resumed.rows(2).finished_at(), kept2);
  EXPECT_NE(resumed.rows(1).finished_at(), dropped);
  EXPECT_EQ(resumed.rows(1).status(), "ok");
  EXPECT_EQ(count(slurp(dir + "/sweep.csv"), "\n"), 4);

  if (fs::exists(kChromium)) {
    // Energy (or accuracy) against latency, and against chip area.
    const std::string dom = dump_dom(dir + "/sweep.html");
    EXPECT_NE(dom.find("<div id=\"render-check\">ok 2 charts</div>"), std::string::npos);
  }
  fs::remove_all(dir);
}

TEST(Sweep, FailingPointIsRecordedAndOthersComplete) {
  const std::string dir = temp_dir("sweep_fail");
  write_text(dir + "/fail.pbtxt",
             "name: \"fit\"\nmodels: \"" + kSource +
                 "/workloads/models/tinyllama-bytes\"\n"
                 "models: \"llama-3.2-1b\"\n"
                 "axis { field: \"tile.dac.encoding\" values: [\"PWM\"] }\n"
                 "run { prompt_tokens: 8 decode_tokens: 4 no_accuracy: true }\n");
  const ProgramResult r = run_aimcsim("sweep " + dir + "/fail.pbtxt -j 2 --out " + dir + "/out");
  ASSERT_EQ(r.status, 0) << r.err << r.out;
  const auto results = parse_json<proto::SweepResults>(dir + "/out/sweep.json");
  ASSERT_EQ(results.rows_size(), 2);
  EXPECT_EQ(results.rows(0).status(), "ok") << results.rows(0).error();
  EXPECT_GT(results.rows(0).decode_latency_us(), 0);
  EXPECT_EQ(results.rows(1).status(), "error");
  EXPECT_NE(results.rows(1).error().find("does not fit"), std::string::npos)
      << results.rows(1).error();
  EXPECT_FALSE(results.rows(1).has_ttft_us());
  EXPECT_NE(slurp(dir + "/out/sweep.csv").find(",error,"), std::string::npos);
  EXPECT_NE(r.out.find("1 failed"), std::string::npos) << r.out;
  fs::remove_all(dir);
}

// A sweep over a system's link bandwidth: each row has the figures of a separate `aimcsim run`
// on the system with that bandwidth, and the slower link never gives more tokens per second.
TEST(Sweep, SystemLinkBandwidthRowsEqualSeparateRuns) {
  const std::string dir = temp_dir("sweep_system");
  const std::string fixtures = kSource + "/tests/fixtures/systems";
  write_text(dir + "/links.pbtxt",
             "name: \"links\"\nchip: \"" + fixtures +
                 "/two-small.pbtxt\"\n"
                 "axis { field: \"links.bandwidth_gbps\" values: [\"50\", "
                 "\"0.5\"] }\n"
                 "run { prompt_tokens: 8 decode_tokens: 8 no_accuracy: true }\n");
  const ProgramResult r = run_aimcsim("sweep " + dir + "/links.pbtxt -j 2 --out " + dir + "/out");
  ASSERT_EQ(r.status, 0) << r.err << r.out;
  const auto results = parse_json<proto::SweepResults>(dir + "/out/sweep.json");
  ASSERT_EQ(results.rows_size(), 2);
  const char* bandwidths[] = {"50", "0.5"};
  for (int i = 0; i < 2; ++i) {
    const proto::SweepRow& row = results.rows(i);
    ASSERT_EQ(row.status(), "ok") << row.error();
    EXPECT_TRUE(fs::is_regular_file(dir + "/out/points/" + row.id() + "/system.pbtxt"));
    // The same system written by hand (not by the sweep), run alone.
    const std::string system = dir + "/system" + std::to_string(i) + ".pbtxt";
    write_text(system, "schema_version: 1\nname: \"two-small\"\nchips { config_path: \"" +
                           fixtures +
                           "/small32.pbtxt\" count: 2 }\nlinks { topology: RING "
                           "bandwidth_gbps: " +
                           bandwidths[i] + " latency_ns: 100 e_pj_per_bit: 2 }\n");
    const std::string out = dir + "/run" + std::to_string(i);
    const ProgramResult run = run_aimcsim("run --chip " + system +
                                          " --no-accuracy --prompt-tokens 8 --decode-tokens 8 "
                                          "--out " +
                                          out);
    ASSERT_EQ(run.status, 0) << run.err;
    const auto report = parse_json<proto::SimReport>(out + "/report.json");
    EXPECT_GT(report.decode_tokens_per_s(), 0);
    EXPECT_EQ(row.decode_tokens_per_s(), report.decode_tokens_per_s());
    EXPECT_EQ(row.ttft_us(), report.ttft_ns() * 1e-3);
    EXPECT_EQ(row.decode_latency_us(), report.decode_latency_ns() * 1e-3);
    EXPECT_EQ(row.decode_nj_per_token(), report.decode().total_nj_per_token());
    EXPECT_EQ(row.prefill_nj_per_token(), report.prefill().total_nj_per_token());
  }
  // 100x less bandwidth: the inter-chip transfers take longer, so fewer tokens per second.
  EXPECT_LT(results.rows(1).decode_tokens_per_s(), results.rows(0).decode_tokens_per_s());
  fs::remove_all(dir);
}

// A system sweep's run block sets the system mapper's options (run.split, run.lm_head), as
// `run --split` and `--lm-head` do: each row equals the separate run with those flags, and
// differs from the run without them (the options reached the point's run).
TEST(Sweep, SystemMapOptionsRowsEqualSeparateRuns) {
  const std::string dir = temp_dir("sweep_split");
  const std::string system = kSource + "/tests/fixtures/systems/split-blocks.pbtxt";
  write_text(dir + "/split.pbtxt",
             "name: \"split\"\nchip: \"" + system +
                 "\"\naxis { field: \"run.batch\" values: [\"1\", \"4\"] }\n"
                 "run { prompt_tokens: 4 decode_tokens: 4 no_accuracy: true split: \"input\" "
                 "lm_head: \"dram\" }\n");
  const ProgramResult r = run_aimcsim("sweep " + dir + "/split.pbtxt -j 2 --out " + dir + "/out");
  ASSERT_EQ(r.status, 0) << r.err << r.out;
  const auto results = parse_json<proto::SweepResults>(dir + "/out/sweep.json");
  ASSERT_EQ(results.rows_size(), 2);
  const int batches[] = {1, 4};
  for (int i = 0; i < 2; ++i) {
    const proto::SweepRow& row = results.rows(i);
    ASSERT_EQ(row.status(), "ok") << row.error();
    const std::string common = "run --chip " + system +
                               " --no-accuracy --prompt-tokens 4 --decode-tokens 4 --batch " +
                               std::to_string(batches[i]);
    const std::string out = dir + "/run" + std::to_string(i);
    const ProgramResult run =
        run_aimcsim(common + " --split input --lm-head dram --out " + out + "/with");
    ASSERT_EQ(run.status, 0) << run.err;
    const ProgramResult plain = run_aimcsim(common + " --out " + out + "/without");
    ASSERT_EQ(plain.status, 0) << plain.err;
    const auto with = parse_json<proto::SimReport>(out + "/with/report.json");
    const auto without = parse_json<proto::SimReport>(out + "/without/report.json");
    EXPECT_EQ(row.decode_tokens_per_s(),
              with.has_batch() ? with.batch().decode_tokens_per_s() : with.decode_tokens_per_s());
    EXPECT_EQ(row.ttft_us(), with.ttft_ns() * 1e-3);
    EXPECT_EQ(row.decode_latency_us(), with.decode_latency_ns() * 1e-3);
    EXPECT_EQ(row.decode_nj_per_token(), with.decode().total_nj_per_token());
    EXPECT_NE(row.decode_nj_per_token(), without.decode().total_nj_per_token());
    EXPECT_NE(with.system().decode_link_bit_hops(), without.system().decode_link_bit_hops());
  }
  fs::remove_all(dir);
}

// A serving sweep's run.arrival_seed reaches its points: the row equals the separate run with
// `--arrival-seed`, and differs from the run with the default seed (other arrivals).
TEST(Sweep, ArrivalSeedRowEqualsTheSeparateRun) {
  const std::string dir = temp_dir("sweep_arrival_seed");
  write_text(dir + "/seed.pbtxt",
             "name: \"seed\"\naxis { field: \"run.rate\" values: [\"20000\"] }\n"
             "run { prompt_tokens: 4 decode_tokens: 4 no_accuracy: true requests: 24 "
             "max_batch: 4 arrival_seed: 5 }\n");
  const ProgramResult r = run_aimcsim("sweep " + dir + "/seed.pbtxt --out " + dir + "/out");
  ASSERT_EQ(r.status, 0) << r.err << r.out;
  const auto results = parse_json<proto::SweepResults>(dir + "/out/sweep.json");
  ASSERT_EQ(results.rows_size(), 1);
  const proto::SweepRow& row = results.rows(0);
  ASSERT_EQ(row.status(), "ok") << row.error();
  const std::string common =
      "run --no-accuracy --prompt-tokens 4 --decode-tokens 4 --arrivals poisson --rate 20000 "
      "--requests 24 --max-batch 4";
  ASSERT_EQ(run_aimcsim(common + " --arrival-seed 5 --out " + dir + "/with").status, 0);
  ASSERT_EQ(run_aimcsim(common + " --out " + dir + "/without").status, 0);
  const auto with = parse_json<proto::SimReport>(dir + "/with/report.json");
  const auto without = parse_json<proto::SimReport>(dir + "/without/report.json");
  EXPECT_EQ(row.offered_requests_per_s(), with.requests().offered_requests_per_s());
  EXPECT_EQ(row.completed_requests_per_s(), with.requests().completed_requests_per_s());
  EXPECT_EQ(row.output_tokens_per_s(), with.requests().output_tokens_per_s());
  EXPECT_EQ(row.ttft_p99_us(), with.requests().ttft_p99_ns() * 1e-3);
  EXPECT_EQ(row.nj_per_output_token(), with.requests().nj_per_output_token());
  EXPECT_NE(row.offered_requests_per_s(), without.requests().offered_requests_per_s());
  fs::remove_all(dir);
}

TEST(UserMistakes, OneLineOnStderrAndExitTwo) {
  const std::string dir = temp_dir("mistakes");
  auto sweep = [&](const std::string& name, const std::string& body) {
    write_text(dir + "/" + name + ".pbtxt", body);
    return "sweep " + dir + "/" + name + ".pbtxt --out " + dir + "/out_" + name;
  };
  struct Case {
    std::string args;
    std::string expect;  // part of the message
  };
  const std::vector<Case> cases = {
      {"run --chip /no/such/chip.pbtxt", "cannot open config file"},
      {"run --chip " + kSource + "/tests/fixtures/configs/bad/adc_bits_zero.pbtxt",
       "tile.adc.bits: must be in 1..16"},
      {"run --model no-such-model", "no-such-model"},
      {"run --mapping no-such-strategy", "no-such-strategy"},
      {"run --bogus-flag", "--bogus-flag"},
      {"sweep /no/such/sweep.pbtxt", "cannot open sweep file"},
      {"sweep", "missing the sweep file"},
      {"sweep " + bundled_sweep() + " -j 0", "--jobs"},
      {sweep("bad_path", "axis { field: \"tile.adc.bitz\" values: [\"6\"] }"),
       "bad_path.pbtxt:1: axis 1 (tile.adc.bitz): tile.adc.bitz: no field 'bitz' in AdcConfig"},
      {sweep("bad_number", "axis { field: \"tile.rows\" values: [\"256\", \"many\"] }"),
       "bad_number.pbtxt:1: axis 1 (tile.rows): tile.rows: 'many' is not an unsigned 32-bit "
       "integer"},
      {sweep("bad_enum", "axis { field: \"tile.dac.encoding\" values: [\"PWMX\"] }"),
       "bad_enum.pbtxt:1: axis 1 (tile.dac.encoding): tile.dac.encoding: 'PWMX' is not one of PWM, "
       "BIT_SERIAL"},
      {sweep("bad_bool", "axis { field: \"tile.double_buffered\" values: [\"yes\"] }"),
       "'yes' is not true or false"},
      {sweep("bad_range", "axis { field: \"tile.adc.bits\" values: [\"0\"] }"),
       "tile.adc.bits: must be in 1..16, got 0"},
      {sweep("bad_model", "models: \"no-such-model\""), "bad_model.pbtxt:1: models[0]"},
      {sweep("bad_mapping", "mappings: \"no-such-strategy\""),
       "bad_mapping.pbtxt:1: mappings[0]: unknown strategy"},
      {sweep("bad_syntax", "axis { field: \"tile.rows\" values: 256 }"), "bad_syntax.pbtxt:1"},
  };
  for (const Case& c : cases) {
    const ProgramResult r = run_aimcsim(c.args);
    EXPECT_EQ(r.status, 2) << c.args << "\n" << r.err;
    EXPECT_EQ(r.err.rfind("aimcsim: error: ", 0), 0u) << c.args << "\n" << r.err;
    EXPECT_EQ(r.err.find('\n'), r.err.size() - 1) << c.args << "\n" << r.err;
    EXPECT_NE(r.err.find(c.expect), std::string::npos) << c.args << "\n" << r.err;
  }
  fs::remove_all(dir);
}

TEST(UserMistakes, ModelThatDoesNotFitExitsTwo) {
  const ProgramResult r = run_aimcsim("run --model llama-3.2-1b");
  EXPECT_EQ(r.status, 2) << r.err;
  EXPECT_EQ(r.err.rfind("aimcsim: error: model 'llama-3.2-1b' does not fit chip 'default'", 0), 0u)
      << r.err;
  // The mapper's message goes on with the changes that would make it fit, one per line
  // (mapping/mapper.cc); its first line says what is wrong.
}

TEST(Presets, Llama1bChipHoldsLlama1b) {
  const ProgramResult r =
      run_aimcsim("map --model llama-3.2-1b --chip " + kSource + "/configs/llama1b.pbtxt");
  EXPECT_EQ(r.status, 0) << r.err;
  EXPECT_NE(r.out.find("tiles used"), std::string::npos) << r.out;
}

}  // namespace
}  // namespace aimc::test
