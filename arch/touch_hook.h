// A hook a component calls first thing in the operations that read or change its state, while
// armed (ScNoc and TileArray: the controller's exact replay of part reads materialises a deferred
// group from it before anything else uses the chip). Disarmed, touch() is one predictable branch.
#pragma once

namespace aimc::arch {

class TouchHook {
 public:
  void set(void (*fn)(void*), void* ctx) {
    fn_ = fn;
    ctx_ = ctx;
  }
  /// Arms or disarms it; from inside the hook, disarming sticks and arming waits for its return.
  void arm(bool on) {
    wanted_ = on;
    armed_ = on && !in_hook_ && fn_;
  }
  bool wanted() const { return wanted_; }
  /// Whether touch() calls the hook now.
  bool armed() const { return armed_; }
  /// Calls the hook when armed; it runs disarmed (what it calls does not call it again).
  void touch() {
    if (__builtin_expect(armed_, false)) fire();
  }

 private:
  void fire() {
    in_hook_ = true;
    armed_ = false;
    fn_(ctx_);
    in_hook_ = false;
    armed_ = wanted_ && fn_;
  }
  void (*fn_)(void*) = nullptr;
  void* ctx_ = nullptr;
  bool armed_ = false, wanted_ = false, in_hook_ = false;
};

}  // namespace aimc::arch
