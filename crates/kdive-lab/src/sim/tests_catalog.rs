//! Catalog parsing and validation, and the process model on its own.

use k8s_openapi::api::core::v1::Container;

use super::catalog::{Catalog, repository};
use super::process::{HttpOutcome, Process};

fn container(yaml: &str) -> Container {
    serde_saphyr::from_str(yaml).unwrap()
}

#[test]
fn builtin_catalog_is_valid_and_covers_the_images() {
    let cat = Catalog::parse(super::catalog::BUILTIN, "images.yaml").unwrap();
    let names: Vec<&str> = cat.names().collect();
    for n in ["nginx", "postgres", "redis", "busybox", "kdive/demo-web"] {
        assert!(names.contains(&n), "{n} missing from {names:?}");
    }
    assert_eq!(Catalog::builtin(), cat);
}

#[test]
fn image_references_match_by_repository() {
    assert_eq!(repository("nginx"), "nginx");
    assert_eq!(repository("nginx:1.27"), "nginx");
    assert_eq!(
        repository("docker.io/library/nginx:1.27@sha256:abc"),
        "nginx"
    );
    assert_eq!(repository("kdive/demo-web:v2"), "kdive/demo-web");
    assert_eq!(repository("localhost:5000/app"), "localhost:5000/app");
    let cat = Catalog::builtin();
    // Unknown images get `default`, which listens on the declared ports.
    assert!(
        cat.lookup("example.com/team/thing:3")
            .listen_on_declared_ports
    );
    assert!(
        !cat.lookup("docker.io/library/redis:7")
            .listen_on_declared_ports
    );
}

const GOOD: &str = "images:
  default:
    ports: []
    paths: []
    unknownPathStatus: 404
    startupSeconds: 1
    memoryMiB: 1
    cpuMillicores: 1
    sigterm: { exitAfterSeconds: 1, exitCode: 0 }
    knobs: []
  app:
    ports:
      - { port: 8080, protocol: TCP, http: true }
    paths:
      - { path: /, status: 200, role: app }
    unknownPathStatus: 404
    startupSeconds: 1
    memoryMiB: 1
    cpuMillicores: 1
    sigterm: { exitAfterSeconds: 1, exitCode: 0 }
    knobs:
      - name: ERROR_RATE
        default: \"0\"
        doc: errors
";

#[test]
fn a_small_catalog_parses() {
    let cat = Catalog::parse(GOOD, "c.yaml").unwrap();
    assert_eq!(cat.names().collect::<Vec<_>>(), vec!["app"]);
}

#[test]
fn validation_errors_name_file_and_line() {
    // Line 13 is the `- { port: 8080 ...` entry of `app`.
    let bad_port = GOOD.replace("port: 8080", "port: 70000");
    assert_eq!(
        Catalog::parse(&bad_port, "c.yaml").unwrap_err().0,
        "c.yaml:13: image app: port 70000 is not in 1-65535"
    );
    // Line 15: the path entry.
    let bad_status = GOOD.replace("status: 200", "status: 42");
    assert_eq!(
        Catalog::parse(&bad_status, "c.yaml").unwrap_err().0,
        "c.yaml:15: image app: status 42 is not an HTTP status (100-599)"
    );
    let bad_path = GOOD.replace("path: /,", "path: index,");
    assert_eq!(
        Catalog::parse(&bad_path, "c.yaml").unwrap_err().0,
        "c.yaml:15: image app: path \"index\" must start with /"
    );
    // Line 22: the knob's name.
    let bad_knob = GOOD.replace("name: ERROR_RATE", "name: ERR_RATE");
    let e = Catalog::parse(&bad_knob, "c.yaml").unwrap_err().0;
    assert!(
        e.starts_with(
            "c.yaml:22: image app: unknown knob ERR_RATE (the simulator implements: LISTEN_PORT,"
        ),
        "{e}"
    );
    let no_default = GOOD.replace("\n  default:\n", "\n  other:\n");
    assert_eq!(
        Catalog::parse(&no_default, "c.yaml").unwrap_err().0,
        "c.yaml:1: no `default` image (used for images not listed)"
    );
    // A misspelt field is a YAML-level error, still with its line (17).
    let typo = GOOD.replace("    startupSeconds: 1\n    memoryMiB: 1\n    cpuMillicores: 1\n    sigterm: { exitAfterSeconds: 1, exitCode: 0 }\n    knobs:\n", "    startupSecs: 1\n    memoryMiB: 1\n    cpuMillicores: 1\n    sigterm: { exitAfterSeconds: 1, exitCode: 0 }\n    knobs:\n");
    let e = Catalog::parse(&typo, "c.yaml").unwrap_err().0;
    assert!(e.starts_with("c.yaml:17: "), "{e}");
    assert!(e.contains("unknown field `startupSecs`"), "{e}");
}

#[test]
fn demo_web_knobs_shape_what_it_serves() {
    let cat = Catalog::builtin();
    let img = cat.lookup("kdive/demo-web:1");
    let c = container(
        "name: web\nimage: kdive/demo-web:1\nenv:\n- {name: READINESS_DELAY_SECONDS, value: \"5\"}\n- {name: LISTEN_PORT, value: \"9090\"}\n",
    );
    let p = Process::new(img, &c, 7);
    // Starts after the default 2 s; listens on LISTEN_PORT instead of 8080.
    assert_eq!(p.http_get(1.0, 9090, "/", 1.0, 0), HttpOutcome::Refused);
    assert_eq!(p.http_get(2.0, 8080, "/", 1.0, 0), HttpOutcome::Refused);
    assert_eq!(p.http_get(2.0, 9090, "/", 1.0, 0), HttpOutcome::Status(200));
    // /ready: 503 until 2 + 5 = 7 s.
    assert_eq!(
        p.http_get(6.9, 9090, "/ready", 1.0, 0),
        HttpOutcome::Status(503)
    );
    assert_eq!(
        p.http_get(7.0, 9090, "/ready", 1.0, 0),
        HttpOutcome::Status(200)
    );
    assert_eq!(
        p.http_get(7.0, 9090, "/nope", 1.0, 0),
        HttpOutcome::Status(404)
    );
    assert_eq!(p.natural_exit(), None);
    assert_eq!(p.on_sigterm(), Some((1.0, 0)));
}

#[test]
fn error_rate_is_seeded_and_close_to_the_rate() {
    let cat = Catalog::builtin();
    let c = container(
        "name: web\nimage: kdive/demo-web\nenv:\n- {name: ERROR_RATE, value: \"0.25\"}\n",
    );
    let p = Process::new(cat.lookup("kdive/demo-web"), &c, 42);
    let errors = (0..4000)
        .filter(|k| p.http_get(10.0, 8080, "/api", 1.0, *k) == HttpOutcome::Status(500))
        .count();
    // 1000 expected; ±10% is far beyond 4 standard deviations (σ ≈ 27).
    assert!((900..1100).contains(&errors), "{errors}");
    // Probe paths are not affected.
    assert!(
        (0..200).all(|k| p.http_get(10.0, 8080, "/healthz", 1.0, k) == HttpOutcome::Status(200))
    );
    let again = Process::new(cat.lookup("kdive/demo-web"), &c, 42);
    assert_eq!(
        again.http_get(10.0, 8080, "/", 1.0, 17),
        p.http_get(10.0, 8080, "/", 1.0, 17)
    );
}

#[test]
fn memory_growth_reaches_the_limit_and_is_oomkilled() {
    let cat = Catalog::builtin();
    let c = container(
        "name: web\nimage: kdive/demo-web\nenv:\n- {name: MEMORY_GROWTH_MB_PER_MIN, value: \"44\"}\nresources:\n  limits: {memory: 64Mi}\n",
    );
    let p = Process::new(cat.lookup("kdive/demo-web"), &c, 0);
    // 20 MiB at rest + 44 MiB/min reaches 64 MiB after (64 - 20) / 44 min = 60 s.
    let e = p.natural_exit().unwrap();
    assert!((e.after - 60.0).abs() < 1e-9, "{}", e.after);
    assert_eq!((e.code, e.reason), (137, "OOMKilled"));
    assert_eq!(p.memory_bytes(30.0), 42.0 * 1024.0 * 1024.0);
}

#[test]
fn busybox_commands() {
    let cat = Catalog::builtin();
    let bb = cat.lookup("busybox:1.36");
    let exit = |yaml: &str| {
        let c = container(yaml);
        Process::new(bb, &c, 0)
            .natural_exit()
            .map(|e| (e.after, e.code, e.reason))
    };
    assert_eq!(
        exit("name: a\ncommand: [sleep, \"5\"]\n"),
        Some((5.0, 0, "Completed"))
    );
    assert_eq!(
        exit("name: a\ncommand: [sh, -c, \"exit 3\"]\n"),
        Some((0.0, 3, "Error"))
    );
    assert_eq!(
        exit("name: a\nargs: [sh, -c, \"sleep 2; exit 1\"]\n"),
        Some((2.0, 1, "Error"))
    );
    assert_eq!(
        exit("name: a\ncommand: [sh, -c, \"while true; do sleep 1; done\"]\n"),
        None
    );
    // No command: `sh` reads EOF from a closed stdin and exits 0 at once.
    assert_eq!(exit("name: a\n"), Some((0.0, 0, "Completed")));
    // The Kubernetes docs' liveness example: the file exists for 30 s.
    let c = container(
        "name: a\nargs: [/bin/sh, -c, \"touch /tmp/healthy; sleep 30; rm -f /tmp/healthy; sleep 600\"]\n",
    );
    let p = Process::new(bb, &c, 0);
    let cat_cmd = vec!["cat".to_string(), "/tmp/healthy".to_string()];
    assert_eq!(p.exec(29.0, &cat_cmd), (0, String::new()));
    assert_eq!(
        p.exec(30.0, &cat_cmd),
        (
            1,
            "cat: can't open '/tmp/healthy': No such file or directory".to_string()
        )
    );
    assert_eq!(p.natural_exit().map(|e| e.after), Some(630.0));
    // PID 1 without a handler ignores SIGTERM.
    assert_eq!(p.on_sigterm(), None);
}

#[test]
fn postgres_needs_its_password_and_answers_pg_isready() {
    let cat = Catalog::builtin();
    let pg = cat.lookup("postgres:16");
    let without = Process::new(pg, &container("name: db\n"), 0);
    let e = without.natural_exit().unwrap();
    assert_eq!((e.after, e.code, e.reason), (0.5, 1, "Error"));
    let with = Process::new(
        pg,
        &container("name: db\nenv:\n- {name: POSTGRES_PASSWORD, value: x}\n"),
        0,
    );
    assert_eq!(with.natural_exit(), None);
    let cmd = vec![
        "pg_isready".to_string(),
        "-U".to_string(),
        "postgres".to_string(),
    ];
    assert_eq!(
        with.exec(7.0, &cmd),
        (2, "/var/run/postgresql:5432 - no response".to_string())
    );
    assert_eq!(
        with.exec(8.0, &cmd),
        (
            0,
            "/var/run/postgresql:5432 - accepting connections".to_string()
        )
    );
    // An HTTP GET to a port that does not speak HTTP.
    assert_eq!(with.http_get(9.0, 5432, "/", 1.0, 0), HttpOutcome::Eof);
    assert!(with.accepts_tcp(8.0, 5432) && !with.accepts_tcp(7.99, 5432));
}
