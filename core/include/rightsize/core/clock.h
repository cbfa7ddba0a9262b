#pragma once

// Time as a parameter. Every class that reads time takes a Clock&; production
// passes SystemClock, tests and simulations pass ManualClock and advance it by
// hand, so no test sleeps to let time pass. A Clock has two readings: wall
// time (now(): timestamps, windows, cooldowns; it may jump) and monotonic
// time (steadyNow(): deadlines, budgets, durations; it never goes back).

#include <atomic>
#include <chrono>

namespace rightsize {

// Wall-clock instants (Unix epoch), nanosecond resolution.
using TimePoint = std::chrono::time_point<std::chrono::system_clock, std::chrono::nanoseconds>;
using Duration = std::chrono::nanoseconds;
using Seconds = std::chrono::duration<double>;
// Monotonic instants: only their differences mean anything.
using MonotonicTime = std::chrono::time_point<std::chrono::steady_clock, Duration>;

// Seconds since the Unix epoch, as written in JSON and Mesos statistics.
double toUnixSeconds(TimePoint t);
// Values beyond ±9e9 s (year 2255) are clamped, NaN is taken as 0.
TimePoint fromUnixSeconds(double seconds);
// Inline: the replays call these at every step of every app.
inline double toSeconds(Duration d) { return std::chrono::duration<double>(d).count(); }
inline double toHours(Duration d) { return std::chrono::duration<double, std::ratio<3600>>(d).count(); }

// Thread-safe: implementations may be read from several threads at once.
class Clock {
 public:
  virtual ~Clock() = default;
  virtual TimePoint now() const = 0;
  // Never earlier than a previous reading; wall-clock jumps do not move it.
  virtual MonotonicTime steadyNow() const = 0;
};

// std::chrono::system_clock and std::chrono::steady_clock.
class SystemClock final : public Clock {
 public:
  TimePoint now() const override;
  MonotonicTime steadyNow() const override;
};

// A clock running `speed` times faster than `base` from `origin` on:
// now() = origin + (base.now() - origin) * speed. What simulations run on;
// processes given the same origin and speed share one simulated time.
// Monotonic time runs `speed` times faster too, from the moment of
// construction on, so that durations on both readings agree.
class ScaledClock final : public Clock {
 public:
  ScaledClock(const Clock& base, double speed, TimePoint origin)
      : base_(base), speed_(speed), origin_(origin), steady_origin_(base.steadyNow()) {}
  ScaledClock(const Clock& base, double speed) : ScaledClock(base, speed, base.now()) {}
  TimePoint now() const override;
  MonotonicTime steadyNow() const override;

 private:
  const Clock& base_;
  double speed_;
  TimePoint origin_;
  MonotonicTime steady_origin_;
};

// A clock that only moves when told to. Thread-safe.
class ManualClock final : public Clock {
 public:
  explicit ManualClock(TimePoint start = fromUnixSeconds(1'700'000'000.0)) : now_(start.time_since_epoch().count()) {}

  TimePoint now() const override { return TimePoint(Duration(now_.load())); }
  // Starts at MonotonicTime{}.
  MonotonicTime steadyNow() const override { return MonotonicTime(Duration(steady_.load())); }
  // Moves both readings forward by `d`. A negative `d` is a wall-clock jump
  // back: monotonic time stays where it is.
  void advance(Duration d) {
    now_.fetch_add(d.count());
    if (d > Duration::zero()) steady_.fetch_add(d.count());
  }
  // A wall-clock jump (either way): monotonic time does not see it.
  void set(TimePoint t) { now_.store(t.time_since_epoch().count()); }

 private:
  std::atomic<Duration::rep> now_;
  std::atomic<Duration::rep> steady_{0};
};

// Wall time moved by hand, monotonic time real (std::chrono::steady_clock).
// For tests against a peer that answers in real time (librdkafka's mock
// cluster): status windows and cooldowns are driven by hand while deadlines
// hold in real time, as the peer's own timeouts do. Thread-safe.
class ManualWallClock final : public Clock {
 public:
  explicit ManualWallClock(TimePoint start = fromUnixSeconds(1'700'000'000.0)) : wall_(start) {}

  TimePoint now() const override { return wall_.now(); }
  MonotonicTime steadyNow() const override { return real_.steadyNow(); }
  void advance(Duration d) { wall_.advance(d); }
  void set(TimePoint t) { wall_.set(t); }

 private:
  ManualClock wall_;
  SystemClock real_;
};

}  // namespace rightsize
