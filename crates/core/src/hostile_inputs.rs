//! Fault suite, hostile inputs: random service specs (`kind:version`, `name=kind:version`),
//! ports, database names and `dockhand.toml` documents — malformed TOML, wrong types, injection
//! attempts — through the parsers the CLI and the app use. Each is accepted as something
//! well-formed or refused with a message saying what was wrong; nothing panics; nothing that
//! could break out of a name or identifier gets through. The number of cases is fixed and
//! asserted, so the summary can state it.

use rand::{Rng, SeedableRng};

use crate::backup::validate_database_name;
use crate::names::{validate_port, validate_service_name};
use crate::project_config;
use crate::ServiceSpec;

const CASES: usize = 25_000;

fn random_string(rng: &mut rand::rngs::StdRng, max: usize) -> String {
    let alphabet: Vec<char> =
        "postgresredismariadbmysqlmongo0123456789.:=-_ /\\'\";`$(){}[]\n\t\0é😀"
            .chars()
            .collect();
    let len = rng.random_range(0..=max);
    (0..len)
        .map(|_| alphabet[rng.random_range(0..alphabet.len())])
        .collect()
}

fn fragments() -> Vec<&'static str> {
    vec![
        "name = \"shop\"\n",
        "name = 42\n",
        "name = \"x'; DROP TABLE users; --\"\n",
        "name = [\"a\"]\n",
        "[services]\n",
        "postgres = \"16\"\n",
        "postgres = 16\n",
        "redis = { version = \"7\", service = \"cache\" }\n",
        "redis = { version = 7 }\n",
        "mariadb = { service = \"../../etc\" }\n",
        "mongo = true\n",
        "oracle = \"19\"\n",
        "postgres = \"16\"\npostgres = \"15\"\n",
        "[services.postgres]\nversion = \"15\"\n",
        "= broken\n",
        "[[services]]\n",
        "\"\"\"\n",
        "postgres = { version = \"16; rm -rf /\" }\n",
        "# a comment\n",
        "\u{0}\n",
    ]
}

#[test]
fn hostile_specs_ports_names_and_config_files_are_refused_clearly_never_panicking() {
    let mut rng = rand::rngs::StdRng::seed_from_u64(0xFA17);
    let frags = fragments();
    let (mut specs_ok, mut configs_ok, mut run) = (0, 0, 0);
    for _ in 0..CASES {
        run += 1;
        // Service specs: plausible ones (kind, version, name) with hostile parts, and noise.
        let kinds = [
            "postgres", "redis", "mariadb", "mysql", "mongo", "pg", "oracle", "",
        ];
        let versions = [
            "15",
            "16.2",
            "7",
            "10.11",
            "8.4",
            "x",
            "1e9",
            "../..",
            "16;rm -rf /",
            "",
            "16 ",
            "99",
        ];
        let s = match rng.random_range(0..3) {
            0 => random_string(&mut rng, 40),
            1 => format!(
                "{}:{}",
                kinds[rng.random_range(0..kinds.len())],
                versions[rng.random_range(0..versions.len())]
            ),
            _ => format!(
                "{}={}:{}",
                random_string(&mut rng, 8),
                kinds[rng.random_range(0..kinds.len())],
                versions[rng.random_range(0..versions.len())]
            ),
        };
        let s = s
            .split_once('=')
            .map_or(s.clone(), |(_, spec)| spec.to_string());
        match ServiceSpec::parse(&s) {
            Ok(spec) => {
                specs_ok += 1;
                assert!(
                    spec.version
                        .chars()
                        .all(|c| c.is_ascii_alphanumeric() || ".-_".contains(c)),
                    "{s:?} gave version {:?}",
                    spec.version
                );
                validate_service_name(&spec.default_name())
                    .unwrap_or_else(|e| panic!("{s:?}: default name refused: {e}"));
            }
            Err(e) => assert!(!e.to_string().is_empty()),
        }
        // Service names.
        if validate_service_name(&s).is_ok() {
            assert!(
                s.chars()
                    .all(|c| c.is_ascii_alphanumeric() || "._-".contains(c)),
                "{s:?}"
            );
        }
        // Database names (restore --into, backup --database).
        if validate_database_name(&s).is_ok() {
            assert!(
                !s.starts_with('-') && !s.contains('=') && !s.contains(' '),
                "{s:?}"
            );
        }
        // Ports.
        let p: u16 = rng.random();
        if let Err(e) = validate_port(p) {
            assert!(e.to_string().contains(&p.to_string()), "{e}");
        }
        // Config files: random concatenations of good, bad and hostile fragments.
        let n = rng.random_range(0..6);
        let doc: String = (0..n)
            .map(|_| frags[rng.random_range(0..frags.len())])
            .collect();
        match project_config::parse(&doc, "dockhand.toml") {
            Ok(cfg) => {
                configs_ok += 1;
                if let Some(name) = &cfg.name {
                    crate::ident::validate_project_name(name)
                        .unwrap_or_else(|e| panic!("{doc:?}: accepted a bad name: {e}"));
                }
            }
            Err(e) => {
                let m = e.to_string();
                assert!(m.contains("dockhand.toml"), "the error names the file: {m}");
            }
        }
    }
    assert_eq!(run, CASES);
    // Both sides were exercised: some inputs are fine, most are not.
    assert!(specs_ok > 0 && specs_ok < CASES, "{specs_ok}");
    assert!(configs_ok > 0 && configs_ok < CASES, "{configs_ok}");
    println!("{CASES} cases: {specs_ok} specs and {configs_ok} config files accepted, the rest refused with a message");
}
