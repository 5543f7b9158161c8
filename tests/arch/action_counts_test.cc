// ActionCounts: adding counts adds every field (by name, through the field table) and nothing else.
#include <gtest/gtest.h>

#include <map>
#include <string>

#include "arch/action_counts.h"

namespace aimc {
namespace {

TEST(ActionCounts, AddingAddsEveryNamedFieldToItself) {
  // Distinct values per field (a: k + 1, b: 1000 (k + 1)): a += b gives 1001 (k + 1) in field k
  // and only there.
  arch::ActionCounts a, b;
  std::map<std::string, double> want;
  int k = 0;
  a.for_each([&](const std::string& name, const std::string&, double) {
    ++k;
    EXPECT_TRUE(a.set(name, k));
    EXPECT_TRUE(b.set(name, 1000.0 * k));
    want[name] = 1001.0 * k;
  });
  EXPECT_EQ(k, 17);
  a += b;
  int checked = 0;
  a.for_each([&](const std::string& name, const std::string&, double value) {
    EXPECT_EQ(value, want[name]) << name;
    ++checked;
  });
  EXPECT_EQ(checked, 17);
  EXPECT_EQ(a.sum(), 1001.0 * 17 * 18 / 2);
}

}  // namespace
}  // namespace aimc
