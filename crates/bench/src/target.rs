//! What the bench reads from `dockhand url SERVICE`: the published port and admin password,
//! parsed with the `url` crate (the password is percent-encoded in the URL).

use dockhand_core::probe::ProbeTarget;
use dockhand_core::Kind;

use crate::commands::{BenchError, Cli, Result};

pub(crate) struct AdminUrl {
    pub(crate) port: u16,
    pub(crate) password: String,
}

pub(crate) fn parse_admin_url(text: &str) -> Result<AdminUrl> {
    let bad = || BenchError::Output {
        what: "dockhand url".into(),
        output: "<a URL without port or password>".into(),
    };
    let u = url::Url::parse(text.trim()).map_err(|_| bad())?;
    let port = u.port().ok_or_else(bad)?;
    let encoded = u.password().ok_or_else(bad)?;
    let password = percent_encoding::percent_decode_str(encoded)
        .decode_utf8()
        .map_err(|_| bad())?
        .into_owned();
    Ok(AdminUrl { port, password })
}

pub(crate) fn admin_url(cli: &Cli, service: &str) -> Result<AdminUrl> {
    parse_admin_url(&cli.run(&["url", service])?)
}

/// The probe target the raw baseline polls: the same server, user and password Dockhand uses.
pub(crate) fn target_of(cli: &Cli, service: &str, kind: Kind) -> Result<ProbeTarget> {
    let a = admin_url(cli, service)?;
    Ok(ProbeTarget {
        host: "127.0.0.1".into(),
        port: a.port,
        user: kind.spec().admin_user.into(),
        password: a.password,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_port_and_decodes_the_password() {
        let a =
            parse_admin_url("postgres://postgres:a%2Fb%40c@127.0.0.1:15432/postgres\n").unwrap();
        assert_eq!(a.port, 15432);
        assert_eq!(a.password, "a/b@c");
    }

    #[test]
    fn refuses_a_url_without_password() {
        assert!(parse_admin_url("redis://127.0.0.1:6379").is_err());
    }
}
