// The aimcsim program: all work happens in aimc::sim; main only hands over the arguments.
#include "sim/app/cli.h"

int main(int argc, char** argv) {
  return aimc::sim::run_cli(argc, argv);
}
