//! MongoDB's `hello` over OP_MSG, written out by hand: one command does not justify the MongoDB
//! driver's weight. `hello` needs no authentication and answers only once `mongod` listens on the
//! container's network interface, which the official entrypoint does after its init phase.

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use super::{io_error, ProbeError, ProbeTarget};

const OP_MSG: i32 = 2013;
/// Bigger replies than this are not a `hello` answer.
const MAX_REPLY: usize = 64 * 1024;

pub(super) async fn probe(t: &ProbeTarget) -> Result<(), ProbeError> {
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

/// OP_MSG { flagBits: 0, section 0: { hello: 1, $db: "admin" } }.
pub(super) fn hello_message(request_id: i32) -> Vec<u8> {
    let mut doc = Vec::new();
    doc.push(0x10); // int32
    doc.extend(b"hello\0");
    doc.extend(1i32.to_le_bytes());
    doc.push(0x02); // string
    doc.extend(b"$db\0");
    doc.extend(6i32.to_le_bytes());
    doc.extend(b"admin\0");
    doc.push(0);
    let doc_len = (doc.len() + 4) as i32;
    let mut body = vec![0, 0, 0, 0, 0]; // flagBits, section kind 0
    body.extend(doc_len.to_le_bytes());
    body.extend(doc);
    let mut msg = Vec::new();
    msg.extend(((body.len() + 16) as i32).to_le_bytes());
    msg.extend(request_id.to_le_bytes());
    msg.extend(0i32.to_le_bytes());
    msg.extend(OP_MSG.to_le_bytes());
    msg.extend(body);
    msg
}

/// Body after the header: flagBits, section kind 0, one BSON document with `ok: 1`.
pub(super) fn check_hello_reply(body: &[u8]) -> Result<(), ProbeError> {
    let bad = |why: &str| ProbeError::Protocol(format!("malformed hello reply: {why}"));
    if body.len() < 5 + 5 || body[4] != 0 {
        return Err(bad("no body section"));
    }
    let doc = &body[5..];
    let doc_len = i32::from_le_bytes(doc[0..4].try_into().unwrap()) as usize;
    if doc_len > doc.len() || doc_len < 5 {
        return Err(bad("document length"));
    }
    let mut i = 4;
    let mut ok = None;
    let mut errmsg = None;
    while i < doc_len - 1 {
        let ty = doc[i];
        i += 1;
        let name_end = doc[i..doc_len]
            .iter()
            .position(|b| *b == 0)
            .ok_or_else(|| bad("field name"))?;
        let name = String::from_utf8_lossy(&doc[i..i + name_end]).to_string();
        i += name_end + 1;
        let rest = &doc[i..doc_len];
        let need = |n: usize| {
            if rest.len() >= n {
                Ok(n)
            } else {
                Err(bad("truncated value"))
            }
        };
        let size = match ty {
            0x01 | 0x09 | 0x11 | 0x12 => need(8)?,
            0x10 => need(4)?,
            0x08 => need(1)?,
            0x07 => need(12)?,
            0x0A => 0,
            0x02 | 0x0D | 0x0E => {
                4 + need(4).map(|_| i32::from_le_bytes(rest[0..4].try_into().unwrap()) as usize)?
            }
            0x03 | 0x04 => {
                need(4).map(|_| i32::from_le_bytes(rest[0..4].try_into().unwrap()) as usize)?
            }
            0x05 => {
                5 + need(4).map(|_| i32::from_le_bytes(rest[0..4].try_into().unwrap()) as usize)?
            }
            other => return Err(bad(&format!("BSON type {other:#x}"))),
        };
        need(size)?;
        let v = &rest[..size];
        match (name.as_str(), ty) {
            ("ok", 0x01) => ok = Some(f64::from_le_bytes(v.try_into().unwrap()) == 1.0),
            ("ok", 0x10) => ok = Some(i32::from_le_bytes(v.try_into().unwrap()) == 1),
            ("ok", 0x12) => ok = Some(i64::from_le_bytes(v.try_into().unwrap()) == 1),
            ("errmsg", 0x02) if size > 5 => {
                errmsg = Some(String::from_utf8_lossy(&v[4..size - 1]).to_string())
            }
            _ => {}
        }
        i += size;
    }
    match ok {
        Some(true) => Ok(()),
        Some(false) => Err(ProbeError::Starting(
            errmsg.unwrap_or_else(|| "hello returned ok: 0".into()),
        )),
        None => Err(bad("no 'ok' field")),
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
        super::super::probe(crate::catalog::Kind::Mongo, &t, limit)
            .await
            .unwrap();
        let e = super::super::probe(crate::catalog::Kind::Mongo, &t, limit)
            .await
            .unwrap_err();
        assert_eq!(e, ProbeError::Closed);
    }
}
