// Request mode: seeded Poisson arrivals, continuous batching up to a maximum batch, Little's law
// on a long run, a lone request's TTFT equal to the same run alone, CSV traces.
#include <gtest/gtest.h>

#include <algorithm>
#include <fstream>
#include <string>
#include <vector>

#include "proto/chip_config_io.h"
#include "proto/user_error.h"
#include "sim/chip/timing_run.h"
#include "sim/serving/arrivals.h"
#include "workloads/transformer_weights.h"

namespace aimc {
namespace {

const std::string kRoot = AIMC_SOURCE_DIR;

proto::ChipConfig default_chip() {
  return proto::load_chip_config(kRoot + "/configs/default.pbtxt");
}

const workloads::ModelConfig& bundled_model() {
  static const workloads::ModelConfig m =
      workloads::load_transformer(kRoot + "/workloads/models/tinyllama-bytes").config;
  return m;
}

proto::SimReport serve(std::vector<sim::SimOptions::Request> requests, int max_batch) {
  sim::SimOptions o;
  o.requests = std::move(requests);
  o.max_batch = max_batch;
  return sim::simulate(default_chip(), bundled_model(), "dense", o);
}

TEST(Serving, LittlesLawHoldsOnALongSeededRun) {
  const double rate = 20000;  // requests per second
  const proto::SimReport r = serve(sim::poisson_arrivals(rate, 1000, 16, 16, 7), 16);
  const proto::RequestReport& q = r.requests();
  ASSERT_EQ(q.requests(), 1000u);
  // The seeded arrivals have the configured rate; below saturation the chip completes them at
  // that rate too ...
  EXPECT_NEAR(q.offered_requests_per_s(), rate, 0.05 * rate);
  EXPECT_NEAR(q.completed_requests_per_s(), rate, 0.05 * rate);
  // ... and the mean number in the system is the arrival rate times the mean latency.
  const double little = rate * q.latency_mean_ns() * 1e-9;
  EXPECT_NEAR(q.mean_in_system(), little, 0.05 * little);
  std::printf("L = %.4g, lambda W = %.4g, throughput %.4g tokens/s, TTFT p99 %.4g us\n",
              q.mean_in_system(), little, q.output_tokens_per_s(), q.ttft_p99_ns() * 1e-3);
}

// Far above what the chip sustains (about 6.6e5 output tokens/s, i.e. 3.9e4 requests/s of 17
// output tokens each), the offered load is still the configured rate, measured on the arrivals,
// while the completed requests per second are what the chip sustains: the output throughput
// over the output tokens of a request, and Little's law holds with this rate, not the offered.
TEST(Serving, OfferedRateAndCompletedRequestsPartAtSaturation) {
  const double rate = 160000;
  const int requests = 400, prompt = 16, decode = 16;
  const proto::SimReport r = serve(sim::poisson_arrivals(rate, requests, prompt, decode, 3), 16);
  const proto::RequestReport& q = r.requests();
  ASSERT_EQ(q.requests(), static_cast<uint32_t>(requests));
  const auto& t = q.timings();
  const double span_s = (t[requests - 1].arrival_ns() - t[0].arrival_ns()) * 1e-9;
  EXPECT_DOUBLE_EQ(q.offered_requests_per_s(), (requests - 1) / span_s);
  EXPECT_NEAR(q.offered_requests_per_s(), rate, 0.1 * rate);
  EXPECT_DOUBLE_EQ(q.completed_requests_per_s(), requests / (q.makespan_ns() * 1e-9));
  EXPECT_LT(q.completed_requests_per_s(), 0.5 * q.offered_requests_per_s());
  EXPECT_NEAR(q.completed_requests_per_s() * (decode + 1), q.output_tokens_per_s(),
              1e-9 * q.output_tokens_per_s());
  const double little = q.completed_requests_per_s() * q.latency_mean_ns() * 1e-9;
  EXPECT_NEAR(q.mean_in_system(), little, 1e-6 * little);
  EXPECT_GT(q.offered_requests_per_s() * q.latency_mean_ns() * 1e-9, 2 * q.mean_in_system());
}

TEST(Serving, ContinuousBatchingAdmitsInOrderUpToTheMaximum) {
  // A burst: 40 requests at once, at most 4 in flight.
  std::vector<sim::SimOptions::Request> burst(40, {0, 8, 8});
  const proto::SimReport r = serve(burst, 4);
  const auto& t = r.requests().timings();
  ASSERT_EQ(t.size(), 40);
  std::vector<std::pair<double, int>> events;
  for (int i = 0; i < t.size(); ++i) {
    EXPECT_GE(t[i].admitted_ns(), t[i].arrival_ns());
    EXPECT_GE(t[i].first_token_ns(), t[i].admitted_ns());
    EXPECT_GT(t[i].finished_ns(), t[i].first_token_ns());
    if (i > 0) {
      EXPECT_GE(t[i].admitted_ns(), t[i - 1].admitted_ns());  // first come first served
    }
    events.push_back({t[i].admitted_ns(), +1});
    events.push_back({t[i].finished_ns(), -1});
  }
  std::sort(events.begin(), events.end());  // departures before admissions at one instant
  int in_flight = 0, most = 0;
  for (const auto& e : events) most = std::max(most, in_flight += e.second);
  EXPECT_EQ(most, 4);
  // The first four start at once; the fifth waits for a slot.
  EXPECT_EQ(t[3].admitted_ns(), 0);
  EXPECT_GT(t[4].admitted_ns(), 0);
  EXPECT_GT(r.requests().wait_mean_ns(), 0);
}

TEST(Serving, ALoneRequestTakesTheTimeOfTheSameRunAlone) {
  // Requests a second apart never meet: each sees an idle chip.
  const proto::SimReport served = serve(sim::poisson_arrivals(1, 3, 12, 5, 1), 4);
  sim::SimOptions alone;
  alone.prompt_tokens = 12;
  alone.decode_tokens = 5;
  const proto::SimReport a = sim::simulate(default_chip(), bundled_model(), "dense", alone);
  for (const auto& t : served.requests().timings()) {
    EXPECT_NEAR(t.first_token_ns() - t.arrival_ns(), a.ttft_ns(), 1e-3);
    EXPECT_NEAR(t.finished_ns() - t.arrival_ns(), a.total_time_ns(), 1e-3);
  }
}

TEST(Serving, KvCapacityBoundsTheMaximumBatch) {
  sim::SimOptions o;
  o.requests = sim::poisson_arrivals(1000, 4, 16, 16, 1);
  o.max_batch = 100000;
  o.dram_capacity_bytes = 1e6;
  try {
    sim::simulate(default_chip(), bundled_model(), "dense", o);
    FAIL() << "expected UserError";
  } catch (const UserError& e) {
    EXPECT_NE(std::string(e.what()).find("max batch 100000 does not fit: KV-cache capacity"),
              std::string::npos)
        << e.what();
  }
}

TEST(Serving, SameSeedSameArrivals) {
  const auto a = sim::poisson_arrivals(100, 50, 4, 4, 11);
  const auto b = sim::poisson_arrivals(100, 50, 4, 4, 11);
  const auto c = sim::poisson_arrivals(100, 50, 4, 4, 12);
  ASSERT_EQ(a.size(), 50u);
  EXPECT_EQ(a[0].arrival_ns, 0);
  bool differ = false;
  for (size_t i = 0; i < a.size(); ++i) {
    EXPECT_EQ(a[i].arrival_ns, b[i].arrival_ns);
    differ = differ || a[i].arrival_ns != c[i].arrival_ns;
    if (i > 0) {
      EXPECT_GE(a[i].arrival_ns, a[i - 1].arrival_ns);
    }
  }
  EXPECT_TRUE(differ);
  EXPECT_THROW(sim::poisson_arrivals(0, 5, 4, 4, 1), UserError);
}

std::string write(const std::string& name, const std::string& text) {
  const std::string path = ::testing::TempDir() + name;
  std::ofstream(path) << text;
  return path;
}

TEST(Serving, CsvTraces) {
  const auto reqs = sim::read_request_trace(write(
      "trace_ok.csv", "arrival_s,prompt_tokens,decode_tokens\n0,4,2\n0.5e-6,8,0\n\n1e-6,3,1\n"));
  ASSERT_EQ(reqs.size(), 3u);
  EXPECT_DOUBLE_EQ(reqs[1].arrival_ns, 500);
  EXPECT_EQ(reqs[1].prompt_tokens, 8);
  EXPECT_EQ(reqs[2].decode_tokens, 1);
  const proto::SimReport r = serve(reqs, 2);
  EXPECT_EQ(r.requests().requests(), 3u);
  struct Bad {
    const char* text;
    const char* fragment;
  };
  const Bad bad[] = {
      {"time,p,d\n", ":1: expected the header"},
      {"arrival_s,prompt_tokens,decode_tokens\n0,4\n", ":2: expected 3 comma-separated values"},
      {"arrival_s,prompt_tokens,decode_tokens\n0,0,1\n", ":2: prompt_tokens: expected an integer"},
      {"arrival_s,prompt_tokens,decode_tokens\nsoon,1,1\n", ":2: arrival_s: expected a time"},
      {"arrival_s,prompt_tokens,decode_tokens\n1,1,1\n0,1,1\n", ":3: arrival_s: arrivals must not"},
      {"arrival_s,prompt_tokens,decode_tokens\n", ": no requests"},
  };
  for (const Bad& b : bad) {
    const std::string path = write("trace_bad.csv", b.text);
    try {
      sim::read_request_trace(path);
      ADD_FAILURE() << "no error for " << b.text;
    } catch (const UserError& e) {
      EXPECT_EQ(std::string(e.what()).rfind(path, 0), 0u) << e.what();
      EXPECT_NE(std::string(e.what()).find(b.fragment), std::string::npos) << e.what();
    }
  }
}

}  // namespace
}  // namespace aimc
