//! A simulated container process: given its catalog entry, the container spec and the seconds
//! since it started, what it listens on, what it answers, what it uses and when it exits.
//! Pure: time is a parameter and randomness is a hash of (seed, key).

use std::collections::{BTreeMap, BTreeSet};

use k8s_openapi::api::core::v1::Container;

use super::catalog::{Image, PathRole, Protocol};
use kdive_core::quantity::{cpu_millicores, memory_bytes};

const MIB: f64 = 1024.0 * 1024.0;
/// How long a process that lacks a required variable runs before exiting 1.
const MISSING_ENV_EXIT_SECONDS: f64 = 0.5;

/// Why and how a process ended by itself.
#[derive(Debug, Clone, PartialEq)]
pub struct Exit {
    /// Seconds after start.
    pub after: f64,
    pub code: i32,
    /// The container status reason: `Completed`, `Error` or `OOMKilled`.
    pub reason: &'static str,
}

/// What an HTTP GET gets back.
#[derive(Debug, Clone, PartialEq)]
pub enum HttpOutcome {
    Status(u16),
    Refused,
    /// No response within the timeout.
    Timeout,
    /// The port accepts connections but does not speak HTTP (closes on the request).
    Eof,
}

/// One step of a busybox shell script.
#[derive(Debug, Clone, PartialEq)]
enum Step {
    Sleep(f64),
    Exit(i32),
    Touch(String),
    Rm(String),
    /// `echo` writes its words to the container's log.
    Echo(String),
    Noop,
    Forever,
}

/// The simulated process of one container incarnation.
#[derive(Debug, Clone)]
pub struct Process<'a> {
    image: &'a Image,
    knobs: BTreeMap<&'static str, String>,
    /// Names of every variable set, literal or from a reference.
    env_names: BTreeSet<String>,
    env_from_any: bool,
    declared_ports: Vec<(i32, Protocol)>,
    script: Option<Vec<Step>>,
    memory_limit: Option<f64>,
    cpu_limit: Option<f64>,
    seed: u64,
}

/// A uniform number in [0, 1) from a seed and a key (splitmix64).
pub fn unit_random(seed: u64, key: u64) -> f64 {
    let mut z = seed ^ key.wrapping_mul(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^= z >> 31;
    (z >> 11) as f64 / (1u64 << 53) as f64
}

impl<'a> Process<'a> {
    /// `seed` makes ERROR_RATE draws reproducible; use a different one per incarnation.
    pub fn new(image: &'a Image, container: &Container, seed: u64) -> Process<'a> {
        // Only literal `value`s are seen; `valueFrom` needs the store and is left to the caller.
        let env: BTreeMap<String, String> = container
            .env
            .iter()
            .flatten()
            .filter_map(|e| e.value.clone().map(|v| (e.name.clone(), v)))
            .collect();
        // A variable from a Secret or ConfigMap is set (kubelet refuses to start the
        // container otherwise), and `envFrom` may set any name: both satisfy requiredEnv.
        let env_from_any = container.env_from.as_ref().is_some_and(|e| !e.is_empty());
        let env_names: BTreeSet<String> = container
            .env
            .iter()
            .flatten()
            .map(|e| e.name.clone())
            .collect();
        let mut knobs = BTreeMap::new();
        for k in super::catalog::KNOWN_KNOBS {
            if let Some(default) = image.knob_default(k) {
                let v = env.get(*k).cloned().unwrap_or_else(|| default.to_string());
                knobs.insert(*k, v);
            }
        }
        let declared_ports = container
            .ports
            .iter()
            .flatten()
            .map(|p| {
                let proto = match p.protocol.as_deref() {
                    Some("UDP") => Protocol::Udp,
                    _ => Protocol::Tcp,
                };
                (p.container_port, proto)
            })
            .collect();
        let limits = container.resources.as_ref().and_then(|r| r.limits.as_ref());
        let memory_limit = limits
            .and_then(|l| l.get("memory"))
            .and_then(|q| memory_bytes(&q.0));
        let cpu_limit = limits
            .and_then(|l| l.get("cpu"))
            .and_then(|q| cpu_millicores(&q.0));
        let script = image.shell.then(|| parse_script(container));
        Process {
            image,
            knobs,
            env_names,
            env_from_any,
            declared_ports,
            script,
            memory_limit,
            cpu_limit,
            seed,
        }
    }

    fn knob_f64(&self, name: &str) -> Option<f64> {
        self.knobs
            .get(name)
            .and_then(|v| v.trim().parse::<f64>().ok())
            .filter(|v| v.is_finite())
    }

    fn knob_bool(&self, name: &str) -> bool {
        self.knobs
            .get(name)
            .is_some_and(|v| matches!(v.trim(), "true" | "1" | "yes" | "True" | "TRUE"))
    }

    /// Seconds from start until its ports accept connections.
    pub fn startup_seconds(&self) -> f64 {
        self.knob_f64("STARTUP_SECONDS")
            .filter(|s| *s >= 0.0)
            .unwrap_or(self.image.startup_seconds.value)
    }

    /// Whether it has finished starting at `t` (and has not exited).
    pub fn started(&self, t: f64) -> bool {
        t >= self.startup_seconds() && self.natural_exit().is_none_or(|e| t < e.after)
    }

    /// The ports that accept connections at `t`.
    pub fn listening(&self, t: f64) -> Vec<(i32, Protocol, bool)> {
        if !self.started(t) {
            return Vec::new();
        }
        self.ports()
    }

    /// The ports it listens on once started, whether or not it is at a given moment.
    pub fn ports(&self) -> Vec<(i32, Protocol, bool)> {
        if self.image.listen_on_declared_ports {
            return self
                .declared_ports
                .iter()
                .map(|(p, proto)| (*p, *proto, *proto == Protocol::Tcp))
                .collect();
        }
        let listen_port = self
            .knob_f64("LISTEN_PORT")
            .filter(|p| (1.0..=65535.0).contains(p))
            .map(|p| p as i32);
        self.image
            .ports
            .iter()
            .enumerate()
            .map(|(i, p)| {
                // LISTEN_PORT moves the first (main) port.
                let port = match listen_port {
                    Some(lp) if i == 0 => lp,
                    _ => p.port.value as i32,
                };
                (port, p.protocol, p.http)
            })
            .collect()
    }

    /// Whether a TCP connect to `port` at `t` is accepted.
    pub fn accepts_tcp(&self, t: f64, port: i32) -> bool {
        self.listening(t)
            .iter()
            .any(|(p, proto, _)| *p == port && *proto == Protocol::Tcp)
    }

    /// Response latency in seconds.
    pub fn latency_seconds(&self) -> f64 {
        self.knob_f64("LATENCY_MS")
            .filter(|v| *v > 0.0)
            .unwrap_or(0.0)
            / 1000.0
    }

    /// An HTTP GET of `path` on `port` at `t`, given up after `timeout` seconds. `key`
    /// distinguishes requests for ERROR_RATE draws (e.g. a request counter).
    pub fn http_get(&self, t: f64, port: i32, path: &str, timeout: f64, key: u64) -> HttpOutcome {
        let Some((_, _, http)) = self
            .listening(t)
            .into_iter()
            .find(|(p, proto, _)| *p == port && *proto == Protocol::Tcp)
        else {
            return HttpOutcome::Refused;
        };
        if !http {
            return HttpOutcome::Eof;
        }
        if self.latency_seconds() >= timeout {
            return HttpOutcome::Timeout;
        }
        let path = path.split('?').next().unwrap_or(path);
        let Some(entry) = self.image.paths.iter().find(|p| p.path.value == path) else {
            return HttpOutcome::Status(self.image.unknown_path_status);
        };
        let status = entry.status.value as u16;
        let ready_at = self.startup_seconds()
            + self
                .knob_f64("READINESS_DELAY_SECONDS")
                .filter(|v| *v > 0.0)
                .unwrap_or(0.0);
        match entry.role {
            PathRole::Liveness if self.knob_bool("FAIL_LIVENESS") => HttpOutcome::Status(500),
            PathRole::Readiness if self.knob_bool("FAIL_READINESS") || t < ready_at => {
                HttpOutcome::Status(503)
            }
            PathRole::App => {
                let rate = self.knob_f64("ERROR_RATE").unwrap_or(0.0).clamp(0.0, 1.0);
                if rate > 0.0 && unit_random(self.seed, key) < rate {
                    HttpOutcome::Status(500)
                } else {
                    HttpOutcome::Status(status)
                }
            }
            _ => HttpOutcome::Status(status),
        }
    }

    /// Memory in use at `t`, bytes: the resting size plus MEMORY_GROWTH_MB_PER_MIN.
    pub fn memory_bytes(&self, t: f64) -> f64 {
        let growth = self
            .knob_f64("MEMORY_GROWTH_MB_PER_MIN")
            .filter(|g| *g > 0.0)
            .unwrap_or(0.0);
        (self.image.memory_mi_b + growth * t.max(0.0) / 60.0) * MIB
    }

    /// CPU in use at `t` in millicores and whether the limit throttles it.
    pub fn cpu(&self, _t: f64) -> (f64, bool) {
        let want = self.image.cpu_millicores;
        match self.cpu_limit {
            Some(limit) if want > limit => (limit, true),
            _ => (want, false),
        }
    }

    /// When the process ends by itself, if it does: the earliest of a missing required
    /// variable, the end of its script, CRASH_AFTER_SECONDS and exceeding its memory limit.
    pub fn natural_exit(&self) -> Option<Exit> {
        let mut exits = Vec::new();
        if self
            .image
            .required_env
            .iter()
            .any(|v| !self.env_from_any && !self.env_names.contains(v))
        {
            exits.push(Exit {
                after: MISSING_ENV_EXIT_SECONDS,
                code: 1,
                reason: "Error",
            });
        }
        if let Some((after, code)) = self.script.as_deref().and_then(script_exit) {
            exits.push(Exit {
                after,
                code,
                reason: if code == 0 { "Completed" } else { "Error" },
            });
        }
        if let Some(after) = self.knob_f64("CRASH_AFTER_SECONDS").filter(|v| *v >= 0.0) {
            let code = self.knob_f64("EXIT_CODE").map_or(1, |c| c as i32);
            exits.push(Exit {
                after,
                code,
                reason: if code == 0 { "Completed" } else { "Error" },
            });
        }
        if let Some(limit) = self.memory_limit {
            let base = self.image.memory_mi_b * MIB;
            let growth = self
                .knob_f64("MEMORY_GROWTH_MB_PER_MIN")
                .filter(|g| *g > 0.0)
                .map(|g| g * MIB / 60.0);
            // The kernel kills when usage would exceed the limit: at once if the resting
            // size does not fit, else when growth reaches it.
            let after = if base > limit {
                Some(0.0)
            } else {
                growth.map(|g| (limit - base) / g)
            };
            if let Some(after) = after {
                exits.push(Exit {
                    after,
                    code: 137,
                    reason: "OOMKilled",
                });
            }
        }
        exits.into_iter().min_by(|a, b| a.after.total_cmp(&b.after))
    }

    /// Seconds from SIGTERM until it exits, and the exit code; `None` if it ignores SIGTERM.
    pub fn on_sigterm(&self) -> Option<(f64, i32)> {
        if self.image.sigterm.ignored || self.knob_bool("IGNORE_SIGTERM") {
            return None;
        }
        let delay = self
            .knob_f64("SHUTDOWN_DELAY_SECONDS")
            .filter(|d| *d >= 0.0)
            .unwrap_or(self.image.sigterm.exit_after_seconds);
        Some((delay, self.image.sigterm.exit_code))
    }

    /// What the shell script prints, with the seconds after start at which it does.
    pub fn script_output(&self) -> Vec<(f64, String)> {
        let mut clock = 0.0;
        let mut out = Vec::new();
        for step in self.script.iter().flatten() {
            match step {
                Step::Sleep(s) => clock += s,
                Step::Echo(text) => out.push((clock, text.clone())),
                Step::Exit(_) | Step::Forever => break,
                _ => {}
            }
        }
        out
    }

    /// The memory limit in bytes, if the container has one.
    pub fn memory_limit(&self) -> Option<f64> {
        self.memory_limit
    }

    /// A knob's value as this process sees it (the env value or the image's default).
    pub fn knob(&self, name: &str) -> Option<&str> {
        self.knobs.get(name).map(String::as_str)
    }

    /// Required variables that are not set (the process exits 1 right after start).
    pub fn missing_env(&self) -> Vec<&str> {
        if self.env_from_any {
            return Vec::new();
        }
        self.image
            .required_env
            .iter()
            .filter(|v| !self.env_names.contains(*v))
            .map(String::as_str)
            .collect()
    }

    /// Whether `path` exists in the container at `t` (image files plus the script's
    /// `touch`/`rm`).
    pub fn file_exists(&self, t: f64, path: &str) -> bool {
        let mut exists = self.image.files.iter().any(|f| f == path);
        let mut clock = 0.0;
        for step in self.script.iter().flatten() {
            match step {
                Step::Sleep(s) => clock += s,
                Step::Touch(f) if f == path && clock <= t => exists = true,
                Step::Rm(f) if f == path && clock <= t => exists = false,
                Step::Exit(_) | Step::Forever => break,
                _ => {}
            }
            if clock > t {
                break;
            }
        }
        exists
    }

    /// Runs an exec probe command at `t`: (exit code, output). A missing binary gives the
    /// runtime's message with exit code 128, as containerd reports it.
    pub fn exec(&self, t: f64, command: &[String]) -> (i32, String) {
        let busybox = self.image.shell;
        let words: Vec<String> = match command {
            [sh, c, script] if is_shell(sh) && c == "-c" => {
                // Judge the first command of the script; documented simplification.
                let first = script.split([';', '&', '|', '\n']).next().unwrap_or("");
                first.split_whitespace().map(str::to_string).collect()
            }
            _ => command.to_vec(),
        };
        let Some(prog) = words.first() else {
            return (
                128,
                "OCI runtime exec failed: exec failed: no command specified: unknown".into(),
            );
        };
        let base = prog.rsplit('/').next().unwrap_or(prog);
        let arg = words
            .get(1..)
            .unwrap_or(&[])
            .iter()
            .find(|a| !a.starts_with('-'));
        match base {
            "true" => (0, String::new()),
            "false" => (1, String::new()),
            "cat" | "ls" | "test" | "stat" | "[" => {
                let Some(path) = arg else {
                    return (1, String::new());
                };
                if self.file_exists(t, path) {
                    return (0, String::new());
                }
                let msg = match (base, busybox) {
                    ("cat", true) => format!("cat: can't open '{path}': No such file or directory"),
                    ("cat", false) => format!("cat: {path}: No such file or directory"),
                    ("ls", _) => format!("ls: {path}: No such file or directory"),
                    ("stat", _) => format!("stat: can't stat '{path}': No such file or directory"),
                    _ => String::new(),
                };
                (if base == "ls" || base == "stat" { 2 } else { 1 }, msg)
            }
            _ => match self.image.exec.iter().find(|e| e.command == base) {
                Some(e) if self.started(t) => (0, e.when_started.clone()),
                Some(e) => (e.fail_exit_code, e.when_starting.clone()),
                None if busybox && is_shell(base) => (0, String::new()),
                None => (
                    128,
                    format!(
                        "OCI runtime exec failed: exec failed: unable to start container process: exec: \"{prog}\": executable file not found in $PATH: unknown"
                    ),
                ),
            },
        }
    }
}

fn is_shell(word: &str) -> bool {
    matches!(
        word,
        "sh" | "/bin/sh" | "ash" | "/bin/ash" | "bash" | "/bin/bash"
    )
}

/// The busybox command line: `command` replaces the entrypoint (none) and `args` the
/// default `sh`; with neither, `sh` without a terminal reads EOF and exits 0 at once.
fn parse_script(container: &Container) -> Vec<Step> {
    let mut argv: Vec<String> = container.command.clone().unwrap_or_default();
    argv.extend(container.args.clone().unwrap_or_default());
    let script = match argv.as_slice() {
        [] => return Vec::new(),
        [sh] if is_shell(sh) => return Vec::new(),
        [sh, c, script, ..] if is_shell(sh) && c == "-c" => script.clone(),
        _ => argv.join(" "),
    };
    script
        .split([';', '\n'])
        .flat_map(|s| s.split("&&"))
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|cmd| {
            let words: Vec<&str> = cmd.split_whitespace().collect();
            match words.as_slice() {
                ["sleep", n] => n.parse::<f64>().map_or(Step::Forever, Step::Sleep),
                ["exit"] => Step::Exit(0),
                ["exit", n] => n
                    .parse::<i32>()
                    .map_or(Step::Exit(2), |c| Step::Exit(c & 0xff)),
                ["touch", f] => Step::Touch((*f).to_string()),
                ["rm", .., f] => Step::Rm((*f).to_string()),
                ["echo", rest @ ..] => Step::Echo(unquote(&rest.join(" "))),
                ["true"] | ["date"] | ["env"] => Step::Noop,
                _ => Step::Forever,
            }
        })
        .collect()
}

/// `echo "a b"` and `echo 'a b'` print `a b`; the shell's quoting is not otherwise modelled.
fn unquote(words: &str) -> String {
    words.replace(['"', '\''], "")
}

/// When the script ends and its exit code; `None` if it runs forever.
fn script_exit(script: &[Step]) -> Option<(f64, i32)> {
    let mut clock = 0.0;
    for step in script {
        match step {
            Step::Sleep(s) => clock += s,
            Step::Exit(c) => return Some((clock, *c)),
            Step::Forever => return None,
            _ => {}
        }
    }
    Some((clock, 0))
}
