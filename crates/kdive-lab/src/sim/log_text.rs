//! What each catalog image writes to stdout, in its own format: start-up, access lines,
//! shutdown and the last words before it dies. Times are the line's own (milliseconds).

use chrono::{DateTime, TimeZone, Utc};

/// The log format family of an image, by the catalog's repository name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flavor {
    Nginx,
    Postgres,
    Redis,
    CoreDns,
    /// busybox: only what the script echoes.
    Shell,
    /// kdive/demo-web and any other image: a Go service logging with slog's text handler.
    App,
}

impl Flavor {
    pub fn of(repository: &str) -> Flavor {
        match repository {
            "nginx" => Flavor::Nginx,
            "postgres" => Flavor::Postgres,
            "redis" => Flavor::Redis,
            "registry.k8s.io/coredns/coredns" => Flavor::CoreDns,
            "busybox" => Flavor::Shell,
            _ => Flavor::App,
        }
    }

    /// Whether it writes a line per HTTP request it serves (so probes show up).
    pub fn access_log(self) -> bool {
        matches!(self, Flavor::Nginx | Flavor::App)
    }
}

fn dt(ms: i64) -> DateTime<Utc> {
    Utc.timestamp_millis_opt(ms).single().unwrap_or_default()
}

fn nginx_ts(ms: i64) -> String {
    dt(ms).format("%Y/%m/%d %H:%M:%S").to_string()
}

fn pg_ts(ms: i64) -> String {
    dt(ms).format("%Y-%m-%d %H:%M:%S%.3f UTC").to_string()
}

fn redis_ts(ms: i64) -> String {
    dt(ms).format("%d %b %Y %H:%M:%S%.3f").to_string()
}

fn slog_ts(ms: i64) -> String {
    dt(ms).format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string()
}

/// What a process of this flavor says; `at` is when it says it.
pub struct Speaker<'a> {
    pub flavor: Flavor,
    /// The image reference, for the App's start-up line.
    pub image: &'a str,
}

impl Speaker<'_> {
    /// Lines at start (`at` is the start) and when its ports open (`ready_at`).
    pub fn start(&self, at: i64, ready_at: i64, port: Option<i32>) -> Vec<(i64, String)> {
        let port = port.unwrap_or(80);
        match self.flavor {
            Flavor::Nginx => {
                let n = |ms: i64, s: &str| (ms, format!("{} [notice] 1#1: {s}", nginx_ts(ms)));
                vec![
                    (at, "/docker-entrypoint.sh: /docker-entrypoint.d/ is not empty, will attempt to perform configuration".into()),
                    (at, "/docker-entrypoint.sh: Looking for shell scripts in /docker-entrypoint.d/".into()),
                    (at, "/docker-entrypoint.sh: Configuration complete; ready for start up".into()),
                    n(ready_at, "using the \"epoll\" event method"),
                    n(ready_at, "nginx/1.27.3"),
                    n(ready_at, "start worker processes"),
                    n(ready_at, "start worker process 29"),
                ]
            }
            Flavor::Postgres => {
                let l = |ms: i64, pid: u32, s: &str| (ms, format!("{} [{pid}] LOG:  {s}", pg_ts(ms)));
                vec![
                    (at, "PostgreSQL Database directory appears to contain a database; Skipping initialization".into()),
                    (at, String::new()),
                    l(at, 1, "starting PostgreSQL 16.6 (Debian 16.6-1.pgdg120+1) on x86_64-pc-linux-gnu, compiled by gcc (Debian 12.2.0-14) 12.2.0, 64-bit"),
                    l(at, 1, &format!("listening on IPv4 address \"0.0.0.0\", port {port}")),
                    l(at, 1, &format!("listening on Unix socket \"/var/run/postgresql/.s.PGSQL.{port}\"")),
                    l(at, 29, "database system was not properly shut down; automatic recovery in progress"),
                    l(ready_at, 29, "redo done at 0/1A2B3C8 system usage: CPU: user: 0.00 s, system: 0.00 s, elapsed: 0.01 s"),
                    l(ready_at, 1, "database system is ready to accept connections"),
                ]
            }
            Flavor::Redis => {
                let c = |ms: i64, s: &str| (ms, format!("1:C {} {s}", redis_ts(ms)));
                let m = |ms: i64, s: &str| (ms, format!("1:M {} {s}", redis_ts(ms)));
                vec![
                    c(at, "* oO0OoO0OoO0Oo Redis is starting oO0OoO0OoO0Oo"),
                    c(at, "* Redis version=7.4.1, bits=64, commit=00000000, modified=0, pid=1, just started"),
                    c(at, "# Warning: no config file specified, using the default config. In order to specify a config file use redis-server /path/to/redis.conf"),
                    m(at, &format!("* Running mode=standalone, port={port}.")),
                    m(ready_at, "* Server initialized"),
                    m(ready_at, "* Ready to accept connections tcp"),
                ]
            }
            Flavor::CoreDns => vec![
                (ready_at, ".:53".into()),
                (ready_at, "[INFO] plugin/reload: Running configuration SHA512 = 591cf328cccc12bc490481273e738df59329c62c0b729d94e8b61db9961c2fa5b046dd37f1cf888b953814040d180f52594972691cd6ff41be96639138a43908".into()),
                (ready_at, "CoreDNS-1.11.3".into()),
                (ready_at, "linux/amd64, go1.21.11, a6338e9".into()),
            ],
            Flavor::Shell => Vec::new(),
            Flavor::App => vec![
                (at, format!("time={} level=INFO msg=\"starting server\" image={} pid=1", slog_ts(at), self.image)),
                (ready_at, format!("time={} level=INFO msg=listening addr=:{port}", slog_ts(ready_at))),
            ],
        }
    }

    /// One HTTP request it served (only flavors with an access log).
    pub fn access(&self, at: i64, remote: &str, path: &str, status: u16, agent: &str) -> String {
        match self.flavor {
            Flavor::Nginx => {
                let bytes = if status == 200 { 615 } else { 153 };
                format!(
                    "{remote} - - [{}] \"GET {path} HTTP/1.1\" {status} {bytes} \"-\" \"{agent}\" \"-\"",
                    dt(at).format("%d/%b/%Y:%H:%M:%S +0000")
                )
            }
            _ => format!(
                "time={} level=INFO msg=request method=GET path={path} status={status} remote={remote} user_agent={agent}",
                slog_ts(at)
            ),
        }
    }

    /// Periodic memory report of a growing process (App only: the others say nothing).
    pub fn memory(&self, at: i64, mib: f64, limit_mib: Option<f64>) -> String {
        let limit = limit_mib.map_or_else(|| "none".to_string(), |l| format!("{l:.0}"));
        format!(
            "time={} level=INFO msg=\"memory in use\" heap_mib={mib:.0} limit_mib={limit}",
            slog_ts(at)
        )
    }

    /// The last thing it says before the kernel kills it for exceeding its memory limit.
    pub fn near_oom(&self, at: i64, mib: f64, limit_mib: f64) -> Vec<String> {
        match self.flavor {
            Flavor::Postgres => vec![
                format!("{} [412] ERROR:  out of memory", pg_ts(at)),
                format!(
                    "{} [412] DETAIL:  Failed on request of size 8388608 in memory context \"ExecutorState\".",
                    pg_ts(at)
                ),
            ],
            Flavor::Redis => vec![format!(
                "1:M {} # WARNING: used memory {mib:.0}M is close to the container limit of {limit_mib:.0}M",
                redis_ts(at)
            )],
            _ => vec![format!(
                "time={} level=WARN msg=\"memory in use is near the limit\" heap_mib={mib:.0} limit_mib={limit_mib:.0}",
                slog_ts(at)
            )],
        }
    }

    /// A required variable is missing: what it prints before exiting 1.
    pub fn missing_env(&self, at: i64, vars: &[&str]) -> Vec<String> {
        match self.flavor {
            Flavor::Postgres => vec![
                "Error: Database is uninitialized and superuser password is not specified.".into(),
                "       You must specify POSTGRES_PASSWORD to a non-empty value for the".into(),
                "       superuser. For example, \"-e POSTGRES_PASSWORD=password\" on \"docker run\".".into(),
            ],
            _ => vars
                .iter()
                .map(|v| {
                    format!(
                        "time={} level=ERROR msg=\"required environment variable is not set\" name={v}",
                        slog_ts(at)
                    )
                })
                .collect(),
        }
    }

    /// It exits by itself with `code` (CRASH_AFTER_SECONDS).
    pub fn crash(&self, at: i64, code: i32) -> Vec<String> {
        if code == 0 {
            return vec![format!(
                "time={} level=INFO msg=\"work done, exiting\"",
                slog_ts(at)
            )];
        }
        vec![format!(
            "time={} level=ERROR msg=\"fatal error, exiting\" exit_code={code}",
            slog_ts(at)
        )]
    }

    /// SIGTERM (or the image's stop signal) arrives; `ignored` when it does not handle it.
    pub fn sigterm(&self, at: i64, ignored: bool) -> Vec<String> {
        match self.flavor {
            Flavor::Shell => Vec::new(),
            _ if ignored => vec![format!(
                "time={} level=WARN msg=\"received SIGTERM, ignoring it\"",
                slog_ts(at)
            )],
            // The official image's STOPSIGNAL is SIGQUIT: a graceful shutdown.
            Flavor::Nginx => vec![
                format!(
                    "{} [notice] 1#1: signal 3 (SIGQUIT) received, shutting down",
                    nginx_ts(at)
                ),
                format!("{} [notice] 29#29: gracefully shutting down", nginx_ts(at)),
            ],
            // STOPSIGNAL SIGINT: fast shutdown.
            Flavor::Postgres => vec![
                format!("{} [1] LOG:  received fast shutdown request", pg_ts(at)),
                format!("{} [1] LOG:  aborting any active transactions", pg_ts(at)),
            ],
            Flavor::Redis => vec![
                format!(
                    "1:signal-handler ({}) Received SIGTERM scheduling shutdown...",
                    at / 1000
                ),
                format!("1:M {} * User requested shutdown...", redis_ts(at)),
            ],
            Flavor::CoreDns => vec![
                "[INFO] SIGTERM: Shutting down servers then terminating".into(),
                "[INFO] plugin/health: Going into lameduck mode for 5s".into(),
            ],
            Flavor::App => vec![format!(
                "time={} level=INFO msg=\"received SIGTERM, draining connections\"",
                slog_ts(at)
            )],
        }
    }

    /// The clean end of a shutdown that SIGTERM started.
    pub fn stopped(&self, at: i64) -> Vec<String> {
        match self.flavor {
            Flavor::Nginx => vec![
                format!("{} [notice] 29#29: exiting", nginx_ts(at)),
                format!("{} [notice] 1#1: exit", nginx_ts(at)),
            ],
            Flavor::Postgres => vec![
                format!("{} [27] LOG:  shutting down", pg_ts(at)),
                format!("{} [1] LOG:  database system is shut down", pg_ts(at)),
            ],
            Flavor::Redis => vec![
                format!("1:M {} * DB saved on disk", redis_ts(at)),
                format!(
                    "1:M {} # Redis is now ready to exit, bye bye...",
                    redis_ts(at)
                ),
            ],
            Flavor::CoreDns | Flavor::Shell => Vec::new(),
            Flavor::App => vec![format!(
                "time={} level=INFO msg=\"server stopped\"",
                slog_ts(at)
            )],
        }
    }

    /// postgres's checkpointer, every checkpoint_timeout (5 min).
    pub fn checkpoint(&self, at: i64) -> String {
        format!("{} [27] LOG:  checkpoint starting: time", pg_ts(at))
    }
}
