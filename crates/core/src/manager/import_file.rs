//! What a file to import is — told from its content (magic bytes, the dump tool's header), not
//! its name — and the stream that feeds it to a server's tool: decompressed as it is read when
//! gzipped, rewritten line by line for SQL, with the bytes read counted for progress.

use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};

use bytes::Bytes;

use super::exec::{tool_error, DUMP_LIMIT};
use super::{container_of, Progress};
use crate::catalog::Kind;
use crate::drivers::{FileFormat, ImportInput, ImportTo, Importer, SqlLineFilter};
use crate::engine::{LogChunk, OutputStream};
use crate::error::ImportError;
use crate::store::ServiceRow;

/// What the restore machinery needs to fill a database from an import file.
pub(super) struct ImportFeed<'a> {
    pub(super) file: &'a ImportFile,
    pub(super) input: ImportInput,
    pub(super) importer: &'a dyn Importer,
    /// The project's user, which the file's content runs as, and its password.
    pub(super) user: &'a str,
    pub(super) password: &'a str,
    /// The admin's password, for what only the admin may do (the extensions below).
    pub(super) admin_password: &'a str,
    /// The extensions the admin may create for the file: those the service is made for.
    pub(super) extensions: &'a [&'a str],
    pub(super) service: &'a str,
    pub(super) target: &'a str,
    pub(super) progress: &'a super::ProgressFn<'a>,
}

impl ImportFeed<'_> {
    /// The import's target and users as the kind's importer takes them.
    pub(super) fn import_to<'a>(&'a self, database: &'a str) -> ImportTo<'a> {
        ImportTo {
            user: self.user,
            password: self.password,
            database,
            admin_password: self.admin_password,
            extensions: self.extensions,
        }
    }
}

/// How much of a file (decompressed) is read to tell what it is.
const HEAD: usize = 8192;
/// The size of the pieces sent to the tool.
const CHUNK: usize = 256 * 1024;

/// Why a snapshot is not imported, and what to do with it instead.
pub(super) const SNAPSHOT_REFUSED: &str =
    "a Redis snapshot replaces the whole dataset of the server it is loaded into, every \
     project's keys included, so Dockhand does not load one into a shared server (a project only \
     has its key prefix). Open it with a Redis of its own: \
     `docker run --rm -p 6390:6379 -v \"$PWD/dump.rdb:/data/dump.rdb\" redis:7`";

impl FileFormat {
    pub fn describe(self) -> &'static str {
        match self {
            FileFormat::PgArchive => "a PostgreSQL custom-format dump (pg_dump -Fc)",
            FileFormat::PgSql => "a plain PostgreSQL dump (pg_dump)",
            FileFormat::MysqlSql => "a MariaDB/MySQL dump (mariadb-dump/mysqldump)",
            FileFormat::Sql => "a SQL file",
            FileFormat::RedisRdb => "a Redis snapshot (RDB)",
        }
    }

    /// Whether a server of `kind` can take it (its driver's importer says); `Err(what to do)`
    /// otherwise.
    pub fn fits(self, kind: Kind) -> std::result::Result<ImportInput, String> {
        if self == FileFormat::RedisRdb {
            return Err(SNAPSHOT_REFUSED.into());
        }
        if let Some(input) = kind.driver().importer().and_then(|i| i.takes(self)) {
            return Ok(input);
        }
        match self {
            FileFormat::RedisRdb => Err(SNAPSHOT_REFUSED.into()),
            FileFormat::PgArchive | FileFormat::PgSql => Err(
                "import it into a PostgreSQL database (`dockhand import <postgres-service>/<database> FILE`)".into(),
            ),
            FileFormat::MysqlSql => Err(
                "import it into a MariaDB or MySQL database (`dockhand import <mariadb-service>/<database> FILE`)".into(),
            ),
            FileFormat::Sql => Err(format!(
                "{} has no SQL databases; import it into a PostgreSQL or MariaDB one",
                kind.spec().display_name
            )),
        }
    }
}

/// A file to import, looked at.
#[derive(Debug, Clone)]
pub struct ImportFile {
    pub path: PathBuf,
    /// Its size on disk (compressed, when it is).
    pub size: u64,
    pub gzip: bool,
    pub format: FileFormat,
}

impl ImportFile {
    pub fn describe(&self) -> String {
        if self.gzip {
            format!("{}, gzip-compressed", self.format.describe())
        } else {
            self.format.describe().to_string()
        }
    }
}

/// Looks at a file: exists, is a file, is not empty, is a format Dockhand imports.
pub fn inspect(path: &Path) -> std::result::Result<ImportFile, ImportError> {
    let meta = std::fs::metadata(path).map_err(|e| ImportError::Unreadable {
        path: path.to_path_buf(),
        source: e,
    })?;
    if meta.is_dir() {
        return Err(ImportError::NotAFile {
            path: path.to_path_buf(),
            what: "a folder",
        });
    }
    if meta.len() == 0 {
        return Err(ImportError::Empty {
            path: path.to_path_buf(),
        });
    }
    let unreadable = |e| ImportError::Unreadable {
        path: path.to_path_buf(),
        source: e,
    };
    let mut raw = Vec::with_capacity(HEAD);
    std::fs::File::open(path)
        .map_err(unreadable)?
        .take(HEAD as u64)
        .read_to_end(&mut raw)
        .map_err(unreadable)?;
    let gzip = raw.starts_with(&[0x1f, 0x8b]);
    let head = if gzip {
        let mut head = Vec::with_capacity(HEAD);
        let file = std::fs::File::open(path).map_err(unreadable)?;
        let r = flate2::read::MultiGzDecoder::new(BufReader::new(file))
            .take(HEAD as u64)
            .read_to_end(&mut head);
        match r {
            Ok(_) if !head.is_empty() => head,
            Ok(_) => {
                return Err(ImportError::Empty {
                    path: path.to_path_buf(),
                })
            }
            Err(e) => {
                return Err(ImportError::BadGzip {
                    path: path.to_path_buf(),
                    detail: e.to_string(),
                })
            }
        }
    } else {
        raw
    };
    let format = classify(&head).map_err(|what| ImportError::NotADump {
        path: path.to_path_buf(),
        what,
    })?;
    Ok(ImportFile {
        path: path.to_path_buf(),
        size: meta.len(),
        gzip,
        format,
    })
}

/// Tells a format from the first bytes of the (decompressed) content; `Err(what it is)`.
fn classify(head: &[u8]) -> std::result::Result<FileFormat, String> {
    if head.starts_with(b"PGDMP") {
        return Ok(FileFormat::PgArchive);
    }
    if head.starts_with(b"REDIS") {
        return Ok(FileFormat::RedisRdb);
    }
    let other = [
        (
            &b"PK\x03\x04"[..],
            "a zip archive: unzip it and import the .sql inside",
        ),
        (
            b"BZh",
            "bzip2-compressed: `bunzip2` it first (or recompress with gzip)",
        ),
        (
            b"\xfd7zXZ\x00",
            "xz-compressed: `unxz` it first (or recompress with gzip)",
        ),
        (
            b"\x28\xb5\x2f\xfd",
            "zstd-compressed: `unzstd` it first (or recompress with gzip)",
        ),
        (b"\x1f\x8b", "gzip-compressed twice: `gunzip` it once first"),
        (
            b"SQLite format 3\0",
            "an SQLite database, not a dump of a server",
        ),
    ];
    for (magic, what) in other {
        if head.starts_with(magic) {
            return Err(what.to_string());
        }
    }
    // Text: no NUL bytes, and UTF-8 up to a character cut at the end of the head.
    let text = match std::str::from_utf8(head) {
        Ok(t) => t,
        Err(e) if e.error_len().is_none() => {
            std::str::from_utf8(&head[..e.valid_up_to()]).unwrap_or("")
        }
        Err(_) => "\0",
    };
    if text.contains('\0') || text.trim().is_empty() {
        let shown: String = head.iter().take(8).map(|b| format!("{b:02x} ")).collect();
        return Err(format!(
            "binary data of no format Dockhand imports (it starts with {}); import a .sql, \
             .sql.gz or pg_dump -Fc file",
            shown.trim()
        ));
    }
    if text.contains("-- PostgreSQL database dump") {
        Ok(FileFormat::PgSql)
    } else if text.contains("-- MariaDB dump") || text.contains("-- MySQL dump") {
        Ok(FileFormat::MysqlSql)
    } else {
        Ok(FileFormat::Sql)
    }
}

/// The stream a tool reads: filled by a blocking reader thread (file, gzip, line filter), read
/// by the engine's exec. An error reading or decompressing ends the stream early and is kept in
/// [`FeedStream::failure`]: the tool sees the end of its input (a read error given to the engine
/// would leave the tool waiting for more), and the import fails on the kept error.
pub struct FeedStream {
    rx: tokio::sync::mpsc::Receiver<Bytes>,
    current: Bytes,
    pub read: Arc<AtomicU64>,
    failure: Arc<Mutex<Option<ImportError>>>,
    producer: Option<tokio::task::JoinHandle<()>>,
}

/// A pause at the start of a stream: `hello` is sent, then nothing until `open` says to go on
/// (`true`: `then` and the file follow; `false` or dropped: the stream ends there). How an
/// import's own session is made to connect before its project is locked out of the server.
pub struct Gate {
    pub hello: Vec<u8>,
    pub open: tokio::sync::oneshot::Receiver<bool>,
    pub then: Vec<u8>,
}

impl FeedStream {
    /// Starts reading `file`: SQL gets `prelude` first and each line through `filter`; with a
    /// `gate`, the file waits for it.
    pub fn start(
        file: &ImportFile,
        prelude: Vec<u8>,
        filter: Option<Box<dyn SqlLineFilter>>,
        gate: Option<Gate>,
    ) -> FeedStream {
        let (tx, rx) = tokio::sync::mpsc::channel::<Bytes>(8);
        let read = Arc::new(AtomicU64::new(0));
        let failure = Arc::new(Mutex::new(None));
        let (file, counter, slot) = (file.clone(), read.clone(), failure.clone());
        let producer = tokio::task::spawn_blocking(move || {
            let mut prelude = prelude;
            if let Some(gate) = gate {
                let mut hello = prelude;
                hello.extend_from_slice(&gate.hello);
                if tx.blocking_send(Bytes::from(hello)).is_err()
                    || gate.open.blocking_recv() != Ok(true)
                {
                    return;
                }
                prelude = gate.then;
            }
            if let Err(e) = produce(&file, prelude, filter, &counter, &tx) {
                *slot.lock().unwrap_or_else(|p| p.into_inner()) = Some(e);
            }
        });
        FeedStream {
            rx,
            current: Bytes::new(),
            read,
            failure,
            producer: Some(producer),
        }
    }

    /// Once the tool is done: stops the reader and says why the file could not be read to its
    /// end, if it could not (a tool that stopped reading early is not such a reason).
    pub async fn finish(&mut self) -> Option<ImportError> {
        self.rx.close();
        if let Some(p) = self.producer.take() {
            let _ = p.await;
        }
        self.failure
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .take()
    }
}

impl tokio::io::AsyncRead for FeedStream {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut tokio::io::ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        while self.current.is_empty() {
            match self.rx.poll_recv(cx) {
                Poll::Ready(Some(b)) => self.current = b,
                Poll::Ready(None) => return Poll::Ready(Ok(())),
                Poll::Pending => return Poll::Pending,
            }
        }
        let n = self.current.len().min(buf.remaining());
        let piece = self.current.split_to(n);
        buf.put_slice(&piece);
        Poll::Ready(Ok(()))
    }
}

/// Counts the bytes read from the file itself (compressed, when it is): progress against its size.
struct Counting<R> {
    inner: R,
    count: Arc<AtomicU64>,
}

impl<R: Read> Read for Counting<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.count.fetch_add(n as u64, Ordering::Relaxed);
        Ok(n)
    }
}

fn produce(
    file: &ImportFile,
    prelude: Vec<u8>,
    mut filter: Option<Box<dyn SqlLineFilter>>,
    counter: &Arc<AtomicU64>,
    tx: &tokio::sync::mpsc::Sender<Bytes>,
) -> std::result::Result<(), ImportError> {
    let path = &file.path;
    let f = std::fs::File::open(path).map_err(|e| ImportError::Unreadable {
        path: path.clone(),
        source: e,
    })?;
    let counted = Counting {
        inner: f,
        count: counter.clone(),
    };
    let source: Box<dyn Read> = if file.gzip {
        Box::new(flate2::read::MultiGzDecoder::new(BufReader::new(counted)))
    } else {
        Box::new(counted)
    };
    let broken = |e: std::io::Error| {
        if file.gzip {
            ImportError::BadGzip {
                path: path.clone(),
                detail: e.to_string(),
            }
        } else {
            ImportError::Unreadable {
                path: path.clone(),
                source: e,
            }
        }
    };
    let mut reader = BufReader::with_capacity(CHUNK, source);
    // The tool has gone (its input closed): the rest is not wanted, which is not a failure here.
    let send = |b: Vec<u8>| tx.blocking_send(Bytes::from(b)).is_ok();
    let mut out = prelude;
    match filter.as_mut() {
        Some(filter) => {
            let mut line = Vec::new();
            loop {
                line.clear();
                let n = reader.read_until(b'\n', &mut line).map_err(broken)?;
                if n == 0 {
                    break;
                }
                if let Some(kept) = filter.filter(&line) {
                    out.extend_from_slice(&kept);
                }
                if out.len() >= CHUNK && !send(std::mem::take(&mut out)) {
                    return Ok(());
                }
            }
        }
        None => loop {
            let mut buf = vec![0u8; CHUNK];
            let n = reader.read(&mut buf).map_err(broken)?;
            if n == 0 {
                break;
            }
            buf.truncate(n);
            if !send(buf) {
                return Ok(());
            }
        },
    }
    if !out.is_empty() {
        send(out);
    }
    Ok(())
}

/// How often progress is reported while a file streams in.
const PROGRESS_EVERY: std::time::Duration = std::time::Duration::from_millis(250);

impl super::Manager {
    /// Streams the file into `database` through the kind's import tool, as the project's user,
    /// reporting the bytes read.
    pub(super) async fn feed_import(
        &self,
        row: &ServiceRow,
        f: &ImportFeed<'_>,
        database: &str,
        gate: Option<Gate>,
    ) -> crate::error::Result<()> {
        let t = f
            .importer
            .command(f.input, &f.import_to(database))
            .map_err(ImportError::Unsupported)?;
        let (prelude, filter) = match f.input {
            ImportInput::Sql => (
                f.importer.sql_prelude(&restrict_key()),
                Some(f.importer.sql_filter()),
            ),
            ImportInput::PgArchive => (Vec::new(), None),
        };
        let mut stream = FeedStream::start(f.file, prelude, filter, gate);
        let read = stream.read.clone();
        let total = f.file.size;
        let what = format!("importing into {}", f.target);
        (f.progress)(Progress::step(f.service, what.clone()));
        let report =
            |bytes| (f.progress)(Progress::bytes(f.service, what.clone(), bytes, Some(total)));
        let (mut out, mut err) = (Vec::new(), Vec::new());
        let argv = t.argv();
        let container = container_of(row);
        let code = {
            let mut sink = |c: LogChunk| match c.stream {
                // Quiet tools (psql -q); a bounded tail of whatever one says is kept.
                OutputStream::Stdout => keep_tail(&mut out, &c.bytes),
                OutputStream::Stderr => keep_tail(&mut err, &c.bytes),
            };
            let exec = self.engine.exec_with_input(
                &container,
                &argv,
                &t.env,
                t.user,
                DUMP_LIMIT,
                &mut stream,
                &mut sink,
            );
            tokio::pin!(exec);
            let mut tick = tokio::time::interval(PROGRESS_EVERY);
            loop {
                tokio::select! {
                    r = &mut exec => break r,
                    _ = tick.tick() => report(read.load(Ordering::Relaxed)),
                }
            }
        };
        let failure = stream.finish().await;
        let context = format!("import into '{}' on '{}'", f.target, row.name);
        let code = match code {
            Ok(c) => c,
            Err(e) => return Err(self.cut_off(row, context, &t, e).await),
        };
        if let Some(e) = failure {
            return Err(e.into());
        }
        if code != 0 {
            let said = String::from_utf8_lossy(&err).trim().to_string();
            let why = match f.importer.explain_failure(&said) {
                Some(why) => why,
                None => tool_error(context, &t, Some(code), &err).to_string(),
            };
            return Err(ImportError::Rejected {
                service: row.name.clone(),
                database: f.target.to_string(),
                why,
                safety: None,
            }
            .into());
        }
        report(read.load(Ordering::Relaxed));
        Ok(())
    }
}

/// Keeps the last 64 KiB a tool wrote (a failing import can print an error per statement).
fn keep_tail(buf: &mut Vec<u8>, bytes: &[u8]) {
    const KEEP: usize = 64 * 1024;
    buf.extend_from_slice(bytes);
    if buf.len() > 2 * KEEP {
        buf.drain(..buf.len() - KEEP);
    }
}

/// A key the file cannot know, so it cannot lift the client's restriction.
fn restrict_key() -> String {
    use rand::Rng;
    let mut rng = rand::rng();
    (0..32)
        .map(|_| char::from(b"abcdefghijklmnopqrstuvwxyz0123456789"[rng.random_range(0..36)]))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn file_with(bytes: &[u8]) -> (tempfile::TempDir, PathBuf) {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("f");
        std::fs::write(&p, bytes).unwrap();
        (d, p)
    }

    fn gz(bytes: &[u8]) -> Vec<u8> {
        let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        e.write_all(bytes).unwrap();
        e.finish().unwrap()
    }

    #[test]
    fn formats_are_told_by_content_not_name() {
        let cases: [(&[u8], FileFormat); 5] = [
            (b"PGDMP\x01\x0f", FileFormat::PgArchive),
            (b"REDIS0011\xfa", FileFormat::RedisRdb),
            (b"--\n-- PostgreSQL database dump\n--\n", FileFormat::PgSql),
            (
                b"/*M!999999\\- enable the sandbox mode */ \n-- MariaDB dump 10.19",
                FileFormat::MysqlSql,
            ),
            (b"CREATE TABLE t (a int);\n", FileFormat::Sql),
        ];
        for (bytes, want) in cases {
            let (_d, p) = file_with(bytes);
            assert_eq!(inspect(&p).unwrap().format, want, "{bytes:?}");
            let (_d, p) = file_with(&gz(bytes));
            let f = inspect(&p).unwrap();
            assert_eq!((f.format, f.gzip), (want, true));
        }
    }

    #[test]
    fn missing_empty_folders_binary_and_broken_gzip_say_what_they_are() {
        let d = tempfile::tempdir().unwrap();
        let e = inspect(&d.path().join("nope.sql")).unwrap_err().to_string();
        assert!(e.contains("nope.sql") && e.contains("No such file"), "{e}");
        let e = inspect(d.path()).unwrap_err().to_string();
        assert!(e.contains("a folder"), "{e}");
        let (_d, p) = file_with(b"");
        assert!(inspect(&p).unwrap_err().to_string().contains("empty"));
        let (_d, p) = file_with(b"\x00\x01\x02binary");
        let e = inspect(&p).unwrap_err().to_string();
        assert!(e.contains("00 01 02"), "{e}");
        let (_d, p) = file_with(b"\x1f\x8b\x08\x00garbage-not-deflate");
        let e = inspect(&p).unwrap_err().to_string();
        assert!(e.contains("gzip"), "{e}");
        let (_d, p) = file_with(b"PK\x03\x04....");
        assert!(inspect(&p).unwrap_err().to_string().contains("zip archive"));
    }

    #[test]
    fn kinds_take_only_their_own_formats() {
        assert!(FileFormat::PgArchive.fits(Kind::Mariadb).is_err());
        assert!(FileFormat::MysqlSql.fits(Kind::Postgres).is_err());
        assert!(FileFormat::RedisRdb
            .fits(Kind::Redis)
            .unwrap_err()
            .contains("every project's keys"));
        assert_eq!(FileFormat::Sql.fits(Kind::Mariadb), Ok(ImportInput::Sql));
        assert_eq!(
            FileFormat::PgArchive.fits(Kind::Postgres),
            Ok(ImportInput::PgArchive)
        );
    }

    async fn read_all(mut s: FeedStream) -> (Vec<u8>, Option<ImportError>) {
        use tokio::io::AsyncReadExt;
        let mut out = Vec::new();
        s.read_to_end(&mut out).await.unwrap();
        let failure = s.finish().await;
        (out, failure)
    }

    #[tokio::test]
    async fn a_gzipped_file_streams_decompressed_and_a_truncated_one_fails() {
        let sql: Vec<u8> = (0..20_000)
            .flat_map(|i| format!("INSERT INTO t VALUES ({i});\n").into_bytes())
            .collect();
        let packed = gz(&sql);
        let (_d, p) = file_with(&packed);
        let f = inspect(&p).unwrap();
        let (out, failure) = read_all(FeedStream::start(
            &f,
            b"-- pre\n".to_vec(),
            Some(Box::new(Keep)),
            None,
        ))
        .await;
        assert!(failure.is_none());
        assert_eq!(&out[..7], b"-- pre\n");
        assert_eq!(&out[7..], &sql[..]);
        let (_d2, p2) = file_with(&packed[..packed.len() / 2]);
        let f = inspect(&p2).unwrap();
        let (_, failure) =
            read_all(FeedStream::start(&f, vec![], Some(Box::new(Keep)), None)).await;
        let e = failure.expect("a truncated gzip is a failure").to_string();
        assert!(e.contains("gzip"), "{e}");
    }

    #[tokio::test]
    async fn a_gated_stream_says_hello_then_waits_and_a_closed_gate_ends_it() {
        let (_d, p) = file_with(b"INSERT INTO t VALUES (1);\n");
        let f = inspect(&p).unwrap();
        let (tx, rx) = tokio::sync::oneshot::channel();
        let gate = Gate {
            hello: b"-- hello\n".to_vec(),
            open: rx,
            then: b"-- go\n".to_vec(),
        };
        let mut s = FeedStream::start(&f, b"-- pre\n".to_vec(), Some(Box::new(Keep)), Some(gate));
        use tokio::io::AsyncReadExt;
        let mut first = vec![0u8; 64];
        let n = s.read(&mut first).await.unwrap();
        assert_eq!(&first[..n], b"-- pre\n-- hello\n");
        let waiting =
            tokio::time::timeout(std::time::Duration::from_millis(200), s.read(&mut first)).await;
        assert!(waiting.is_err(), "nothing comes before the gate opens");
        tx.send(true).unwrap();
        let (rest, failure) = read_all(s).await;
        assert!(failure.is_none());
        assert_eq!(rest, b"-- go\nINSERT INTO t VALUES (1);\n");

        let (tx, rx) = tokio::sync::oneshot::channel::<bool>();
        let gate = Gate {
            hello: b"-- hello\n".to_vec(),
            open: rx,
            then: vec![],
        };
        let s = FeedStream::start(&f, vec![], Some(Box::new(Keep)), Some(gate));
        drop(tx);
        let (all, _) = read_all(s).await;
        assert_eq!(
            all, b"-- hello\n",
            "a dropped gate ends the stream after hello"
        );
    }

    struct Keep;
    impl SqlLineFilter for Keep {
        fn filter<'a>(&mut self, line: &'a [u8]) -> Option<std::borrow::Cow<'a, [u8]>> {
            Some(std::borrow::Cow::Borrowed(line))
        }
    }
}
