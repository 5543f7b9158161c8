// make_linear(): the one place that maps a Backend to its layer class.
#include "arch/linear_layer.h"

#include "arch/analog_linear.h"
#include "arch/digital_linear.h"

namespace aimc::arch {

std::unique_ptr<LinearLayer> make_linear(Backend backend, const TileNumerics& numerics,
                                         const Matrix& weight, const Vector* bias,
                                         const std::vector<float>& input_ranges, uint64_t seed) {
  switch (backend) {
    case Backend::kFp32:
      return std::make_unique<Fp32Linear>(weight, bias);
    case Backend::kW4A8:
      return std::make_unique<W4A8Linear>(
          weight, bias, input_ranges, numerics.rows,
          numerics.input_range_policy == InputRangePolicy::kDynamic);
    case Backend::kAnalog:
      return std::make_unique<AnalogLinear>(numerics, weight, bias, input_ranges, seed);
  }
  throw std::invalid_argument("make_linear: unknown backend");
}

}  // namespace aimc::arch
