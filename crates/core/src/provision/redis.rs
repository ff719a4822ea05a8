//! Redis: an ACL user confined to its key (and channel) prefix, with administrative and
//! dangerous commands (FLUSHALL, KEYS, CONFIG, …) denied so one project cannot touch another's
//! keys. ACL users live in memory, so they are re-applied whenever a consumer starts.

use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;

use super::{fail, redis_prefix, Grant};
use crate::catalog::Kind;
use crate::error::Result;
use crate::probe::redis::resp_command as command;
use crate::probe::ProbeTarget;

pub(super) fn acl_setuser(g: &Grant<'_>) -> Vec<String> {
    let prefix = redis_prefix(g.database);
    [
        "ACL".to_string(),
        "SETUSER".into(),
        g.user.into(),
        "reset".into(),
        "on".into(),
        format!(">{}", g.password.expose()),
        format!("~{prefix}*"),
        format!("&{prefix}*"),
        "+@all".into(),
        "-@admin".into(),
        "-@dangerous".into(),
        // Client libraries call INFO on connect; it reveals nothing of other projects' data.
        "+info".into(),
    ]
    .to_vec()
}

/// The user authenticates and the ACL still confines it (a restarted server forgets ACL users).
pub(super) async fn verify(host: &str, port: u16, g: &Grant<'_>) -> bool {
    let Ok(stream) = TcpStream::connect((host, port)).await else {
        return false;
    };
    let mut s = BufReader::new(stream);
    let mut req = command(&["AUTH", g.user, g.password.expose()]);
    req.extend(command(&["ACL", "WHOAMI"]));
    if s.get_mut().write_all(&req).await.is_err() {
        return false;
    }
    let mut auth = String::new();
    let mut whoami_len = String::new();
    let mut whoami = String::new();
    if s.read_line(&mut auth).await.is_err() || auth.trim_end() != "+OK" {
        return false;
    }
    let _ = s.read_line(&mut whoami_len).await;
    let _ = s.read_line(&mut whoami).await;
    whoami.trim_end() == g.user
}

pub(super) async fn provision(admin: &ProbeTarget, g: &Grant<'_>) -> Result<()> {
    let e = |e: std::io::Error| fail(Kind::Redis, e);
    let stream = TcpStream::connect((admin.host.as_str(), admin.port))
        .await
        .map_err(e)?;
    let mut s = BufReader::new(stream);
    let mut req = command(&["AUTH", admin.password.as_str()]);
    req.extend(command(&acl_setuser(g)));
    s.get_mut().write_all(&req).await.map_err(e)?;
    for what in ["AUTH", "ACL SETUSER"] {
        let mut line = String::new();
        s.read_line(&mut line).await.map_err(e)?;
        if line.trim_end() != "+OK" {
            return Err(fail(
                Kind::Redis,
                format!("{what} answered {:?}", line.trim_end()),
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::secrets::Secret;

    #[test]
    fn confines_the_user_to_its_prefix() {
        let pw = Secret::new("pw");
        let args = acl_setuser(&Grant {
            database: "shop",
            user: "shop",
            password: &pw,
            connection_limit: 50,
        });
        assert_eq!(&args[..5], ["ACL", "SETUSER", "shop", "reset", "on"]);
        assert!(args.contains(&"~shop:*".to_string()) && args.contains(&"&shop:*".to_string()));
        assert!(args.contains(&"-@dangerous".to_string()) && args.contains(&"-@admin".to_string()));
        assert!(!args.iter().any(|a| a == "allkeys" || a == "~*"));
    }
}
