//! MongoDB's `hello` over OP_MSG: the `bson` crate encodes and reads the documents; the
//! MongoDB driver itself (its topology monitoring, pools and TLS) is far more than one command
//! needs. `hello` needs no authentication and answers only once `mongod` listens on the
//! container's network interface, which the official entrypoint does after its init phase.

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::drivers::{io_error, ProbeError, ProbeTarget};

const OP_MSG: i32 = 2013;
/// Bigger replies than this are not a `hello` answer.
const MAX_REPLY: usize = 64 * 1024;

pub(crate) async fn probe(t: &ProbeTarget) -> Result<(), ProbeError> {
    let mut s = TcpStream::connect((t.host.as_str(), t.port))
        .await
        .map_err(io_error)?;
    s.write_all(&hello_message(1)).await.map_err(io_error)?;
    let mut header = [0u8; 16];
    s.read_exact(&mut header).await.map_err(io_error)?;
    let len = i32::from_le_bytes(header[0..4].try_into().unwrap());
    let op = i32::from_le_bytes(header[12..16].try_into().unwrap());
    if op != OP_MSG || len < 21 || len as usize > MAX_REPLY {
        return Err(ProbeError::Protocol(format!(
            "not an OP_MSG reply (opcode {op}, {len} bytes)"
        )));
    }
    let mut body = vec![0u8; len as usize - 16];
    s.read_exact(&mut body).await.map_err(io_error)?;
    check_hello_reply(&body)
}

/// OP_MSG { flagBits: 0, section 0: { hello: 1, $db: "admin" } }. The document is encoded by
/// the `bson` crate; the 21 bytes of OP_MSG framing around it are the wire protocol's.
pub(super) fn hello_message(request_id: i32) -> Vec<u8> {
    let doc = bson::doc! { "hello": 1i32, "$db": "admin" };
    let doc = bson::to_vec(&doc).expect("a two-field document always encodes");
    let mut body = vec![0, 0, 0, 0, 0]; // flagBits, section kind 0
    body.extend(doc);
    let mut msg = Vec::with_capacity(body.len() + 16);
    msg.extend(((body.len() + 16) as i32).to_le_bytes());
    msg.extend(request_id.to_le_bytes());
    msg.extend(0i32.to_le_bytes());
    msg.extend(OP_MSG.to_le_bytes());
    msg.extend(body);
    msg
}

/// Body after the header: flagBits, section kind 0, one BSON document with `ok: 1`.
pub(super) fn check_hello_reply(body: &[u8]) -> Result<(), ProbeError> {
    let bad = |why: String| ProbeError::Protocol(format!("malformed hello reply: {why}"));
    if body.len() < 5 + 5 || body[4] != 0 {
        return Err(bad("no body section".into()));
    }
    let doc = bson::Document::from_reader(&body[5..]).map_err(|e| bad(e.to_string()))?;
    let ok = match doc.get("ok") {
        Some(bson::Bson::Double(v)) => *v == 1.0,
        Some(bson::Bson::Int32(v)) => *v == 1,
        Some(bson::Bson::Int64(v)) => *v == 1,
        Some(other) => return Err(bad(format!("'ok' is {other}"))),
        None => return Err(bad("no 'ok' field".into())),
    };
    if ok {
        Ok(())
    } else {
        Err(ProbeError::Starting(
            doc.get_str("errmsg")
                .unwrap_or("hello returned ok: 0")
                .to_string(),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;
    use tokio::net::TcpListener;

    fn bson_reply(fields: &[(&str, u8, Vec<u8>)]) -> Vec<u8> {
        let mut doc = Vec::new();
        for (name, ty, v) in fields {
            doc.push(*ty);
            doc.extend(name.as_bytes());
            doc.push(0);
            doc.extend(v);
        }
        doc.push(0);
        let mut body = vec![0, 0, 0, 0, 0];
        body.extend(((doc.len() + 4) as i32).to_le_bytes());
        body.extend(doc);
        body
    }

    fn bson_str(s: &str) -> Vec<u8> {
        let mut v = ((s.len() + 1) as i32).to_le_bytes().to_vec();
        v.extend(s.as_bytes());
        v.push(0);
        v
    }

    #[test]
    fn hello_is_a_valid_op_msg() {
        let m = hello_message(7);
        assert_eq!(
            i32::from_le_bytes(m[0..4].try_into().unwrap()) as usize,
            m.len()
        );
        assert_eq!(i32::from_le_bytes(m[12..16].try_into().unwrap()), OP_MSG);
        // The body's document must parse with the same reader used for replies, and carry
        // hello: 1 and $db: admin as a server expects.
        let text = String::from_utf8_lossy(&m);
        assert!(text.contains("hello") && text.contains("$db") && text.contains("admin"));
    }

    #[test]
    fn reads_ok_from_a_real_shaped_reply() {
        let reply = bson_reply(&[
            ("isWritablePrimary", 0x08, vec![1]),
            ("topologyVersion", 0x03, {
                let mut d = 5i32.to_le_bytes().to_vec();
                d.push(0);
                d
            }),
            (
                "maxBsonObjectSize",
                0x10,
                16777216i32.to_le_bytes().to_vec(),
            ),
            ("localTime", 0x09, 0i64.to_le_bytes().to_vec()),
            ("msg", 0x02, bson_str("isdbgrid")),
            ("ok", 0x01, 1.0f64.to_le_bytes().to_vec()),
        ]);
        check_hello_reply(&reply).unwrap();
        let failed = bson_reply(&[
            ("ok", 0x01, 0.0f64.to_le_bytes().to_vec()),
            ("errmsg", 0x02, bson_str("node is recovering")),
        ]);
        assert_eq!(
            check_hello_reply(&failed),
            Err(ProbeError::Starting("node is recovering".into()))
        );
        assert!(check_hello_reply(&[0, 0, 0, 0, 0, 9, 0, 0, 0, 0x42]).is_err());
    }

    /// A server that speaks the documented OP_MSG contract: the probe succeeds against it, and
    /// fails with a reason against one that hangs up.
    #[tokio::test]
    async fn probes_a_server_speaking_op_msg() {
        let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = l.local_addr().unwrap().port();
        tokio::spawn(async move {
            let (mut c, _) = l.accept().await.unwrap();
            let mut hdr = [0u8; 16];
            c.read_exact(&mut hdr).await.unwrap();
            let len = i32::from_le_bytes(hdr[0..4].try_into().unwrap()) as usize;
            let mut body = vec![0u8; len - 16];
            c.read_exact(&mut body).await.unwrap();
            assert!(String::from_utf8_lossy(&body).contains("hello"));
            let reply = bson_reply(&[("ok", 0x01, 1.0f64.to_le_bytes().to_vec())]);
            let mut msg = ((reply.len() + 16) as i32).to_le_bytes().to_vec();
            msg.extend(9i32.to_le_bytes());
            msg.extend(hdr[4..8].to_vec());
            msg.extend(OP_MSG.to_le_bytes());
            msg.extend(reply);
            c.write_all(&msg).await.unwrap();
            let (c2, _) = l.accept().await.unwrap();
            drop(c2); // like docker-proxy with nothing behind it
        });
        let t = ProbeTarget {
            host: "127.0.0.1".into(),
            port,
            user: "root".into(),
            password: "x".into(),
        };
        let limit = Duration::from_secs(5);
        crate::probe::probe(crate::catalog::Kind::Mongo, &t, limit)
            .await
            .unwrap();
        let e = crate::probe::probe(crate::catalog::Kind::Mongo, &t, limit)
            .await
            .unwrap_err();
        assert_eq!(e, ProbeError::Closed);
    }
}
