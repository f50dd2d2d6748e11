//! Test fixtures shared by pm's crates (a dev-dependency only; never published).
//!
//! [`HttpServer`] is a loopback HTTP/1.1 server: git's smart HTTP protocol (every request piped
//! to `git http-backend` as a CGI script, the mapping of `shared/tools/fake-github-http.py`, so
//! shallow clones and fetches behave as against a real host), optionally behind HTTP basic
//! authentication, or the static files below a directory. Chunked request bodies (libgit2 sends
//! its POSTs that way) are decoded. It stops, and joins its threads, when dropped.

use std::io::{self, BufRead, BufReader, Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use base64::Engine as _;

/// How long a connection may stay silent before the server drops it.
const READ_TIMEOUT: Duration = Duration::from_secs(10);
/// The largest request body accepted, in bytes.
const MAX_BODY: usize = 64 << 20;

/// Open connections: a handle to shut each down, and its worker thread.
type Connections = Arc<Mutex<Vec<(TcpStream, JoinHandle<()>)>>>;

/// An answer: status, headers, body.
type Response = (u16, Vec<(String, String)>, Vec<u8>);

/// Makes the `git` command that `http-backend` is appended to: the program, its environment
/// (the test's isolated `HOME` and configuration) and any leading arguments.
pub type GitCommand = Box<dyn Fn() -> Command + Send + Sync>;

/// What the server answers with.
enum Mode {
    /// `git http-backend` over the repositories below `root`.
    Git {
        root: PathBuf,
        command: GitCommand,
        /// The `Authorization` header value required, if any (else 401).
        authorization: Option<String>,
    },
    /// The files below this directory; 404 for anything else.
    Files(PathBuf),
}

/// A running server; see the crate documentation.
pub struct HttpServer {
    port: u16,
    stop: Arc<AtomicBool>,
    connections: Connections,
    acceptor: Option<JoinHandle<()>>,
}

impl HttpServer {
    /// Serves the repositories below `root` over git's smart HTTP protocol, at
    /// `http://127.0.0.1:PORT/<path below root>`. `command` makes the `git` command to run
    /// `http-backend` with.
    ///
    /// # Errors
    ///
    /// The loopback socket cannot be bound.
    pub fn git(root: &Path, command: GitCommand) -> io::Result<Self> {
        Self::spawn(Mode::Git {
            root: root.to_owned(),
            command,
            authorization: None,
        })
    }

    /// As [`HttpServer::git`], answering 401 (with a `Basic` challenge) unless the request
    /// carries these basic credentials.
    ///
    /// # Errors
    ///
    /// The loopback socket cannot be bound.
    pub fn git_with_basic_auth(
        root: &Path,
        command: GitCommand,
        user: &str,
        password: &str,
    ) -> io::Result<Self> {
        let credentials =
            base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"));
        Self::spawn(Mode::Git {
            root: root.to_owned(),
            command,
            authorization: Some(format!("Basic {credentials}")),
        })
    }

    /// Serves the files below `root` (`GET` only; a path with `..` or an empty segment is 404).
    ///
    /// # Errors
    ///
    /// The loopback socket cannot be bound.
    pub fn files(root: &Path) -> io::Result<Self> {
        Self::spawn(Mode::Files(root.to_owned()))
    }

    /// `http://127.0.0.1:PORT/`
    #[must_use]
    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}/", self.port)
    }

    /// The port listened on.
    #[must_use]
    pub fn port(&self) -> u16 {
        self.port
    }

    fn spawn(mode: Mode) -> io::Result<Self> {
        let listener = TcpListener::bind("127.0.0.1:0")?;
        let port = listener.local_addr()?.port();
        listener.set_nonblocking(true)?;
        let stop = Arc::new(AtomicBool::new(false));
        let connections: Connections = Arc::default();
        let mode = Arc::new(mode);
        let acceptor = {
            let stop = Arc::clone(&stop);
            let connections = Arc::clone(&connections);
            std::thread::spawn(move || {
                while !stop.load(Ordering::SeqCst) {
                    match listener.accept() {
                        Ok((stream, _)) => {
                            // Accepted sockets may inherit non-blocking mode.
                            if stream.set_nonblocking(false).is_err() {
                                continue;
                            }
                            let Ok(handle) = stream.try_clone() else {
                                continue;
                            };
                            let mode = Arc::clone(&mode);
                            let worker = std::thread::spawn(move || {
                                let _ = serve_connection(stream, &mode);
                            });
                            if let Ok(mut open) = connections.lock() {
                                open.push((handle, worker));
                            }
                        }
                        Err(error) if error.kind() == io::ErrorKind::WouldBlock => {
                            // A bounded poll interval for the stop flag.
                            std::thread::sleep(Duration::from_millis(5));
                        }
                        Err(_) => break,
                    }
                }
            })
        };
        Ok(Self {
            port,
            stop,
            connections,
            acceptor: Some(acceptor),
        })
    }
}

impl Drop for HttpServer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(acceptor) = self.acceptor.take() {
            let _ = acceptor.join();
        }
        let connections = match self.connections.lock() {
            Ok(mut guard) => std::mem::take(&mut *guard),
            Err(_) => return,
        };
        for (stream, worker) in connections {
            let _ = stream.shutdown(Shutdown::Both);
            let _ = worker.join();
        }
    }
}

struct Request {
    method: String,
    path: String,
    query: String,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl Request {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(key, _)| key.eq_ignore_ascii_case(name))
            .map(|(_, value)| value.as_str())
    }
}

fn serve_connection(stream: TcpStream, mode: &Mode) -> io::Result<()> {
    stream.set_read_timeout(Some(READ_TIMEOUT))?;
    stream.set_write_timeout(Some(READ_TIMEOUT))?;
    let mut writer = stream.try_clone()?;
    let mut reader = BufReader::new(stream);
    while let Some(request) = read_request(&mut reader)? {
        let close = request
            .header("Connection")
            .is_some_and(|value| value.eq_ignore_ascii_case("close"));
        let (status, headers, payload) = match mode {
            Mode::Git {
                authorization: Some(wanted),
                ..
            } if request.header("Authorization") != Some(wanted.as_str()) => (
                401,
                vec![(
                    "WWW-Authenticate".to_owned(),
                    "Basic realm=\"pm-test\"".to_owned(),
                )],
                Vec::new(),
            ),
            Mode::Git { root, command, .. } => run_backend(&request, root, command)?,
            Mode::Files(root) => serve_file(&request, root),
        };
        write_response(&mut writer, status, &headers, &payload)?;
        if close {
            // The server keeps a handle on every connection (to shut it down when dropped):
            // end this one now, so that the client sees the end of the stream.
            writer.shutdown(Shutdown::Both)?;
            break;
        }
    }
    Ok(())
}

fn serve_file(request: &Request, root: &Path) -> Response {
    let relative = request.path.trim_start_matches('/');
    let safe = !relative
        .split('/')
        .any(|part| part == ".." || part.is_empty());
    match (safe, request.method.as_str()) {
        (true, "GET") => match std::fs::read(root.join(relative)) {
            Ok(body) => (200, Vec::new(), body),
            Err(_) => (404, Vec::new(), b"not found".to_vec()),
        },
        _ => (404, Vec::new(), b"not found".to_vec()),
    }
}

fn read_line(reader: &mut impl BufRead) -> io::Result<Option<String>> {
    let mut line = Vec::new();
    let read = reader.take(64 * 1024).read_until(b'\n', &mut line)?;
    if read == 0 {
        return Ok(None);
    }
    Ok(Some(
        String::from_utf8_lossy(&line)
            .trim_end_matches(['\r', '\n'])
            .to_owned(),
    ))
}

fn read_request(reader: &mut impl BufRead) -> io::Result<Option<Request>> {
    let Some(request_line) = read_line(reader)? else {
        return Ok(None);
    };
    let mut parts = request_line.split_whitespace();
    let (Some(method), Some(target)) = (parts.next(), parts.next()) else {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            "bad request line",
        ));
    };
    let (path, query) = target.split_once('?').unwrap_or((target, ""));
    let mut headers = Vec::new();
    while let Some(line) = read_line(reader)? {
        if line.is_empty() {
            break;
        }
        if let Some((key, value)) = line.split_once(':') {
            headers.push((key.trim().to_owned(), value.trim().to_owned()));
        }
    }
    let mut request = Request {
        method: method.to_owned(),
        path: percent_decode(path),
        query: query.to_owned(),
        headers,
        body: Vec::new(),
    };
    let chunked = request
        .header("Transfer-Encoding")
        .is_some_and(|value| value.to_ascii_lowercase().contains("chunked"));
    if chunked {
        request.body = read_chunked(reader)?;
    } else if let Some(length) = request.header("Content-Length") {
        let length: usize = length
            .parse()
            .map_err(|_| io::Error::new(io::ErrorKind::InvalidData, "bad Content-Length"))?;
        if length > MAX_BODY {
            return Err(io::Error::new(io::ErrorKind::InvalidData, "body too large"));
        }
        request.body = vec![0; length];
        reader.read_exact(&mut request.body)?;
    }
    Ok(Some(request))
}

/// Decodes a `Transfer-Encoding: chunked` body (sizes in hex, extensions and trailers
/// ignored).
fn read_chunked(reader: &mut impl BufRead) -> io::Result<Vec<u8>> {
    let invalid = |what: &str| io::Error::new(io::ErrorKind::InvalidData, what.to_owned());
    let mut body = Vec::new();
    loop {
        let line = read_line(reader)?.ok_or_else(|| invalid("truncated chunk"))?;
        let size = line.split(';').next().unwrap_or("").trim();
        let size = usize::from_str_radix(size, 16).map_err(|_| invalid("bad chunk size"))?;
        if size == 0 {
            // Trailer fields, up to an empty line.
            while let Some(line) = read_line(reader)? {
                if line.is_empty() {
                    break;
                }
            }
            return Ok(body);
        }
        if body.len() + size > MAX_BODY {
            return Err(invalid("body too large"));
        }
        let start = body.len();
        body.resize(start + size, 0);
        reader.read_exact(&mut body[start..])?;
        let mut crlf = [0; 2];
        reader.read_exact(&mut crlf)?;
    }
}

fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = |b: u8| char::from(b).to_digit(16);
        if bytes[i] == b'%'
            && i + 2 < bytes.len()
            && let (Some(high), Some(low)) = (hex(bytes[i + 1]), hex(bytes[i + 2]))
        {
            out.extend(u8::try_from(high * 16 + low));
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Runs `git http-backend` as a CGI script: status, headers and body of its answer.
fn run_backend(request: &Request, root: &Path, git: &GitCommand) -> io::Result<Response> {
    let mut command = git();
    command
        .arg("http-backend")
        .env("GIT_PROJECT_ROOT", root)
        .env("GIT_HTTP_EXPORT_ALL", "1")
        .env("REQUEST_METHOD", &request.method)
        .env("PATH_INFO", &request.path)
        .env("QUERY_STRING", &request.query)
        .env("CONTENT_TYPE", request.header("Content-Type").unwrap_or(""))
        .env("CONTENT_LENGTH", request.body.len().to_string())
        .env("REMOTE_ADDR", "127.0.0.1")
        .env(
            "HTTP_GIT_PROTOCOL",
            request.header("Git-Protocol").unwrap_or(""),
        )
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null());
    if let Some(encoding) = request.header("Content-Encoding") {
        command.env("HTTP_CONTENT_ENCODING", encoding);
    }
    let mut child = command.spawn()?;
    let mut stdin = child
        .stdin
        .take()
        .ok_or_else(|| io::Error::other("no stdin"))?;
    let body = request.body.clone();
    // Write from another thread: the backend may answer before it has read everything.
    let writer = std::thread::spawn(move || {
        let _ = stdin.write_all(&body);
    });
    let output = child.wait_with_output()?;
    let _ = writer.join();
    let out = output.stdout;
    let (head, payload) = split_cgi(&out);
    let mut status = 200;
    let mut headers = Vec::new();
    for line in String::from_utf8_lossy(head).lines() {
        let Some((key, value)) = line.split_once(':') else {
            continue;
        };
        if key.trim().eq_ignore_ascii_case("Status") {
            status = value
                .split_whitespace()
                .next()
                .and_then(|s| s.parse().ok())
                .unwrap_or(500);
        } else {
            headers.push((key.trim().to_owned(), value.trim().to_owned()));
        }
    }
    Ok((status, headers, payload.to_vec()))
}

fn split_cgi(out: &[u8]) -> (&[u8], &[u8]) {
    for separator in [&b"\r\n\r\n"[..], &b"\n\n"[..]] {
        if let Some(at) = out.windows(separator.len()).position(|w| w == separator) {
            return (&out[..at], &out[at + separator.len()..]);
        }
    }
    (out, &[])
}

fn write_response(
    writer: &mut impl Write,
    status: u16,
    headers: &[(String, String)],
    payload: &[u8],
) -> io::Result<()> {
    let reason = match status {
        200 => "OK",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        _ => "Status",
    };
    // One write for the whole answer (no small segments held back by Nagle).
    let mut response = Vec::with_capacity(payload.len() + 256);
    write!(response, "HTTP/1.1 {status} {reason}\r\n")?;
    for (key, value) in headers {
        if !key.eq_ignore_ascii_case("Content-Length") {
            write!(response, "{key}: {value}\r\n")?;
        }
    }
    write!(response, "Content-Length: {}\r\n\r\n", payload.len())?;
    response.extend_from_slice(payload);
    writer.write_all(&response)?;
    writer.flush()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn get(url: &str, path: &str) -> String {
        let address = url
            .trim_start_matches("http://")
            .trim_end_matches('/')
            .to_owned();
        let mut stream = TcpStream::connect(address).expect("connect");
        write!(
            stream,
            "GET {path} HTTP/1.1\r\nHost: test\r\nConnection: close\r\n\r\n"
        )
        .expect("write");
        let mut answer = String::new();
        stream.read_to_string(&mut answer).expect("read");
        answer
    }

    #[test]
    fn chunked_bodies_and_percent_escapes_are_decoded() {
        let mut input = &b"4;ext=1\r\nWiki\r\n5\r\npedia\r\n0\r\nTrailer: x\r\n\r\n"[..];
        assert_eq!(read_chunked(&mut input).expect("decodes"), b"Wikipedia");
        assert_eq!(percent_decode("/a%20b/c.git"), "/a b/c.git");
    }

    #[test]
    fn serves_files_and_refuses_escapes() {
        let dir = std::env::temp_dir().join(format!("pm-test-support-{}", std::process::id()));
        std::fs::create_dir_all(dir.join("sub")).expect("mkdir");
        std::fs::write(dir.join("sub/a.json"), "{}").expect("write");
        let server = HttpServer::files(&dir).expect("start");
        let ok = get(&server.url(), "/sub/a.json");
        assert!(ok.starts_with("HTTP/1.1 200 OK\r\n"), "{ok}");
        assert!(ok.ends_with("\r\n\r\n{}"), "{ok}");
        assert!(get(&server.url(), "/sub/../sub/a.json").starts_with("HTTP/1.1 404"));
        assert!(get(&server.url(), "/missing").starts_with("HTTP/1.1 404"));
        drop(server);
        let _ = std::fs::remove_dir_all(dir);
    }

    #[test]
    fn basic_authentication_is_required_when_set() {
        let root = std::env::temp_dir();
        let server = HttpServer::git_with_basic_auth(
            &root,
            Box::new(|| Command::new("git")),
            "user",
            "pass",
        )
        .expect("start");
        let answer = get(&server.url(), "/repo.git/info/refs?service=git-upload-pack");
        assert!(
            answer.starts_with("HTTP/1.1 401 Unauthorized\r\n"),
            "{answer}"
        );
        assert!(answer.contains("WWW-Authenticate: Basic"), "{answer}");
    }
}
