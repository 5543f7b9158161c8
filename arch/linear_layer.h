// The interface every linear-layer backend implements (exact FP32, digital W4A8, analog
// crossbars), and the factory that builds one from the chip's tile numerics. Plain C++ and
// Eigen: no SystemC here.
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include <Eigen/Dense>

#include "arch/tile_numerics.h"

namespace aimc::arch {

/// Column-major float matrix; activations are (tokens x features), weights (out x in).
using Matrix = Eigen::MatrixXf;
using Vector = Eigen::VectorXf;

/// y = x W^T + b as one backend computes it.
class LinearLayer {
 public:
  virtual ~LinearLayer() = default;
  virtual int in_features() const = 0;
  virtual int out_features() const = 0;
  /// x: (tokens x in_features); y is resized to (tokens x out_features). Not const: analog
  /// reads draw output noise from the layer's own seeded stream.
  virtual void forward(const Matrix& x, Matrix* y) = 0;
  /// Whether forward() changes no state of the layer, so that several threads may call it at
  /// once and one layer can serve several executors (FP32 and W4A8; not analog layers).
  virtual bool shareable() const { return false; }
};

/// Which arithmetic a linear layer uses.
enum class Backend { kFp32, kW4A8, kAnalog };

/// Builds a layer. `weight` is (out x in); `bias` may be null. `input_ranges` holds one static
/// input range per input tile (tiles of `numerics.rows` inputs, balanced split); it is ignored by
/// kFp32 and required (size = number of input tiles) by kW4A8 and kAnalog. `seed` selects the
/// chip instance: programming noise of every tile of the layer is drawn from it at construction.
std::unique_ptr<LinearLayer> make_linear(Backend backend, const TileNumerics& numerics,
                                         const Matrix& weight, const Vector* bias,
                                         const std::vector<float>& input_ranges, uint64_t seed);

}  // namespace aimc::arch
