#pragma once

// Time as a parameter. Every class that reads time takes a Clock&; production
// passes SystemClock, tests and simulations pass ManualClock and advance it by
// hand, so no test sleeps to let time pass.

#include <atomic>
#include <chrono>

namespace rightsize {

// Wall-clock instants (Unix epoch), nanosecond resolution.
using TimePoint = std::chrono::time_point<std::chrono::system_clock, std::chrono::nanoseconds>;
using Duration = std::chrono::nanoseconds;
using Seconds = std::chrono::duration<double>;

// Seconds since the Unix epoch, as written in JSON and Mesos statistics.
double toUnixSeconds(TimePoint t);
// Values beyond ±9e9 s (year 2255) are clamped, NaN is taken as 0.
TimePoint fromUnixSeconds(double seconds);
double toSeconds(Duration d);

// Thread-safe: implementations may be read from several threads at once.
class Clock {
 public:
  virtual ~Clock() = default;
  virtual TimePoint now() const = 0;
};

class SystemClock final : public Clock {
 public:
  TimePoint now() const override;
};

// A clock running `speed` times faster than `base` from `origin` on:
// now() = origin + (base.now() - origin) * speed. What simulations run on;
// processes given the same origin and speed share one simulated time.
class ScaledClock final : public Clock {
 public:
  ScaledClock(const Clock& base, double speed, TimePoint origin) : base_(base), speed_(speed), origin_(origin) {}
  ScaledClock(const Clock& base, double speed) : ScaledClock(base, speed, base.now()) {}
  TimePoint now() const override;

 private:
  const Clock& base_;
  double speed_;
  TimePoint origin_;
};

// A clock that only moves when told to. Thread-safe.
class ManualClock final : public Clock {
 public:
  explicit ManualClock(TimePoint start = fromUnixSeconds(1'700'000'000.0)) : now_(start.time_since_epoch().count()) {}

  TimePoint now() const override { return TimePoint(Duration(now_.load())); }
  void advance(Duration d) { now_.fetch_add(d.count()); }
  void set(TimePoint t) { now_.store(t.time_since_epoch().count()); }

 private:
  std::atomic<Duration::rep> now_;
};

}  // namespace rightsize
