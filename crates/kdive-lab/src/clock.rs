//! The lab's clock. Simulated time runs `speed` times faster than the wall clock, so a
//! workshop (or a test) can watch a 30 s back-off pass in 3 s. Everything time-dependent
//! in the lab reads this clock, and every timer converts its simulated wait to a real one.

use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};

#[derive(Debug)]
pub struct LabClock {
    origin_real: Instant,
    origin_sim: DateTime<Utc>,
    speed: f64,
}

impl LabClock {
    /// Starts at the wall-clock time now; `speed` below a thousandth is treated as 1.
    pub fn new(speed: f64) -> LabClock {
        LabClock::starting_at(Utc::now(), speed)
    }

    pub fn starting_at(origin: DateTime<Utc>, speed: f64) -> LabClock {
        let speed = if speed.is_finite() && speed >= 0.001 {
            speed
        } else {
            1.0
        };
        LabClock {
            origin_real: Instant::now(),
            origin_sim: origin,
            speed,
        }
    }

    pub fn speed(&self) -> f64 {
        self.speed
    }

    pub fn now(&self) -> DateTime<Utc> {
        let real = self.origin_real.elapsed();
        let sim = real.mul_f64(self.speed);
        self.origin_sim + chrono::Duration::from_std(sim).unwrap_or(chrono::Duration::MAX)
    }

    /// The wall-clock wait for a simulated duration.
    pub fn real(&self, simulated: Duration) -> Duration {
        simulated.div_f64(self.speed)
    }

    /// The wall-clock wait until simulated time `at` (zero if past).
    pub fn real_until(&self, at: DateTime<Utc>) -> Duration {
        (at - self.now())
            .to_std()
            .map(|d| self.real(d))
            .unwrap_or(Duration::ZERO)
    }
}

impl Default for LabClock {
    fn default() -> Self {
        LabClock::new(1.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sped_up_clock_runs_faster_and_shortens_waits() {
        let start = Utc::now();
        let clock = LabClock::starting_at(start, 10.0);
        std::thread::sleep(Duration::from_millis(20));
        // 20 ms real at 10x is at least 200 ms simulated.
        assert!(clock.now() - start >= chrono::Duration::milliseconds(200));
        assert_eq!(clock.real(Duration::from_secs(10)), Duration::from_secs(1));
    }

    #[test]
    fn nonsense_speeds_fall_back_to_real_time() {
        for s in [0.0, -3.0, f64::NAN, f64::INFINITY] {
            assert_eq!(LabClock::new(s).speed(), 1.0);
        }
    }
}
