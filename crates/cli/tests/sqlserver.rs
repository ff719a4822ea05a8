//! SQL Server against the real engine, as far as it can run here. Its image
//! (`mcr.microsoft.com/mssql/server`) cannot be pulled on these machines (no registry) nor built
//! from Debian packages, so the driver itself is tested at contract level in the core
//! (`crates/core/src/drivers/mssql/`); what runs here is everything a user meets without the
//! image: the kind is known everywhere, and a start that cannot get its image fails with a clear
//! error and leaves nothing behind — no container, volume, state row or keychain entry.

mod common;

use common::*;

const IMAGE: &str = "mcr.microsoft.com/mssql/server:2022-latest";

fn image_present() -> bool {
    docker(&["image", "inspect", IMAGE]).code == 0
}

#[test]
fn up_mssql_without_its_image_fails_clearly_and_leaves_nothing_behind() {
    assert!(
        !image_present(),
        "{IMAGE} is present on this machine: this test checks the failure without it \
         (remove the image, or run the driver against it by hand)"
    );
    let env = Env::new();
    let name = env.name("mssql");
    let r = env.run(&["up", "mssql:2022", "--name", &name]);
    assert_ne!(r.code, 0, "{}", r.all());
    assert!(
        r.all().contains(IMAGE),
        "the error must name the image it could not get:\n{}",
        r.all()
    );
    assert!(!r.all().contains("panicked"), "{}", r.all());

    // Nothing behind: no state row, container, volume or keychain entry of the service.
    assert_eq!(
        env.status_json(),
        serde_json::json!([]),
        "a phantom service"
    );
    let containers = docker(&[
        "ps",
        "-a",
        "-q",
        "--filter",
        &format!("name=dockhand-{name}"),
    ]);
    assert_eq!(containers.stdout.trim(), "", "a container was left");
    let volumes = docker(&[
        "volume",
        "ls",
        "-q",
        "--filter",
        &format!("name=dockhand-{name}"),
    ]);
    assert_eq!(volumes.stdout.trim(), "", "a volume was left");
    let secrets = sh("secret-tool search --all service dockhand 2>&1");
    assert!(
        !secrets.stdout.contains(&format!("/service/{name}/")),
        "a keychain entry was left:\n{}",
        secrets.all()
    );

    // The name is free again: a second attempt fails the same way, not with "exists".
    let again = env.run(&["up", "sqlserver:2022", "--name", &name]);
    assert_ne!(again.code, 0);
    assert!(again.all().contains(IMAGE), "{}", again.all());
}

#[test]
fn the_kind_is_known_to_every_command_that_lists_kinds() {
    let env = Env::new();
    // An unknown version names the ones there are.
    let r = env.run(&["up", "mssql:2017"]);
    assert_ne!(r.code, 0);
    assert!(
        r.all().contains("2019, 2022, 2025"),
        "the supported versions are named:\n{}",
        r.all()
    );
    // A pull of its image says which image could not be fetched.
    let pull = env.run(&["images", "pull", "mssql:2019"]);
    assert_ne!(pull.code, 0, "{}", pull.all());
    assert!(
        pull.all()
            .contains("mcr.microsoft.com/mssql/server:2019-latest"),
        "{}",
        pull.all()
    );
    // Listing images works with the kind in the catalog (and lists none of it here).
    let list: serde_json::Value = serde_json::from_str(&env.ok(&["images", "--json"])).unwrap();
    assert!(
        list.as_array()
            .unwrap()
            .iter()
            .all(|i| i["kind"] != "mssql"),
        "{list}"
    );
}
