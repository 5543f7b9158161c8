// What a report says of the simulator's own run (wall and CPU time and the statistics named),
// left out where tests compare the results of different ways of running the same simulation.
#pragma once

#include <initializer_list>
#include <string>

#include "proto/sim_report.pb.h"

namespace aimc::sim::testing {

/// `r` without its wall and CPU fields and without the statistics named in `stats`.
inline proto::SimReport without_run_measures(proto::SimReport r,
                                             std::initializer_list<const char*> stats) {
  r.clear_wall_s();
  r.clear_wall_s_per_decode_token();
  r.clear_tile_reads_per_wall_s();
  r.clear_cpu_s_per_decode_token();
  auto* all = r.mutable_statistics();
  for (int i = all->size() - 1; i >= 0; --i)
    for (const char* name : stats)
      if (all->Get(i).name() == name) {
        all->DeleteSubrange(i, 1);
        break;
      }
  return r;
}

}  // namespace aimc::sim::testing
