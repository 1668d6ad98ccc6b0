//! Test support: real local peers for end-to-end tests, never mocks of them.
//!
//! Owns starting and stopping a moto server (the AWS emulator) on 127.0.0.1 from the project's
//! virtualenv, which `scripts/test` creates from `tests/requirements.txt`. It must not hold any
//! bucketwatch logic: tests drive the real crates against what this starts.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The project-local virtualenv: `BUCKETWATCH_TEST_VENV`, else `.venv` at the workspace root.
pub fn venv() -> PathBuf {
    if let Some(dir) = std::env::var_os("BUCKETWATCH_TEST_VENV") {
        return PathBuf::from(dir);
    }
    workspace_root().join(".venv")
}

/// The workspace root: above the manifest directory cargo gives the running test (a crate sits
/// two levels below the root). Read at run time: a path baked in when this crate was compiled
/// goes stale when a cached target directory is shared by checkouts at different paths.
pub fn workspace_root() -> PathBuf {
    let manifest = std::env::var_os("CARGO_MANIFEST_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")));
    manifest
        .ancestors()
        .find(|dir| dir.join("Cargo.lock").is_file())
        .unwrap_or_else(|| panic!("no Cargo.lock above {}", manifest.display()))
        .to_path_buf()
}

/// A program from the virtualenv, with a message that says how to get it when it is missing.
pub fn venv_program(name: &str) -> PathBuf {
    let path = venv().join("bin").join(name);
    assert!(
        path.exists(),
        "{} is missing: run ./scripts/test once (it installs tests/requirements.txt into {})",
        path.display(),
        venv().display()
    );
    path
}

/// A moto server on 127.0.0.1 at a free port, killed when dropped.
pub struct Moto {
    child: Child,
    addr: SocketAddr,
}

/// The dummy credentials and region every test client uses; moto does not check them.
pub const ACCESS_KEY: &str = "testing";
pub const SECRET_KEY: &str = "testing";
pub const REGION: &str = "us-east-1";
pub const ACCOUNT_ID: &str = "123456789012";

impl Moto {
    /// Starts a fresh server and waits until it answers.
    pub fn start() -> Moto {
        let port = free_port();
        let mut command = Command::new(venv_program("moto_server"));
        command.args(["-H", "127.0.0.1", "-p", &port.to_string()]);
        Moto::spawn(command, port)
    }

    /// A server that answers one request at a time, over HTTP/1.0.
    ///
    /// moto applies a DynamoDB transaction item by item, with no isolation: two concurrent
    /// `TransactWriteItems` can both pass their conditions. DynamoDB never allows that, so
    /// tests of several writers on one table point DynamoDB here, where requests cannot
    /// overlap. Not for long polls (SQS waits would hold up everyone).
    pub fn start_serial() -> Moto {
        const SERIAL: &str = "import sys\n\
            from werkzeug.serving import run_simple\n\
            from moto.moto_server.werkzeug_app import DomainDispatcherApplication, MotoRequestHandler, create_backend_app\n\
            run_simple('127.0.0.1', int(sys.argv[1]), DomainDispatcherApplication(create_backend_app), threaded=False, request_handler=MotoRequestHandler)\n";
        let port = free_port();
        let mut command = Command::new(venv_program("python"));
        command
            .args(["-c", SERIAL, &port.to_string()])
            .env("MOTO_PORT", port.to_string());
        Moto::spawn(command, port)
    }

    fn spawn(mut command: Command, port: u16) -> Moto {
        let child = command
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start moto_server");
        let addr = SocketAddr::from(([127, 0, 0, 1], port));
        let mut moto = Moto { child, addr };
        moto.wait_ready();
        moto
    }

    /// `http://127.0.0.1:PORT`, for `AWS_ENDPOINT_URL` or an SDK's endpoint.
    pub fn endpoint(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The environment a bucketwatch process needs to talk to this server.
    pub fn env(&self) -> Vec<(&'static str, String)> {
        vec![
            ("AWS_ENDPOINT_URL", self.endpoint()),
            ("AWS_ACCESS_KEY_ID", ACCESS_KEY.into()),
            ("AWS_SECRET_ACCESS_KEY", SECRET_KEY.into()),
            ("AWS_REGION", REGION.into()),
            ("AWS_DEFAULT_REGION", REGION.into()),
            ("AWS_EC2_METADATA_DISABLED", "true".into()),
        ]
    }

    /// Forgets every resource: `POST /moto-api/reset`.
    pub fn reset(&self) {
        let status = self.request("POST", "/moto-api/reset");
        assert!(status.starts_with("HTTP/1.1 200"), "moto reset: {status}");
    }

    fn wait_ready(&mut self) {
        let deadline = Instant::now() + Duration::from_secs(30);
        while Instant::now() < deadline {
            if let Ok(Some(status)) = self.child.try_wait() {
                panic!("moto_server exited at start with {status}");
            }
            if TcpStream::connect(self.addr).is_ok()
                && self.request("GET", "/moto-api/").starts_with("HTTP/")
            {
                return;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        panic!("moto_server did not answer on {} within 30 s", self.addr);
    }

    /// One plain HTTP request; returns the status line (HTTP/1.1, or 1.0 from the serial server).
    fn request(&self, method: &str, path: &str) -> String {
        let Ok(mut stream) = TcpStream::connect(self.addr) else {
            return String::new();
        };
        let _ = stream.set_read_timeout(Some(Duration::from_secs(10)));
        let head = format!(
            "{method} {path} HTTP/1.1\r\nHost: {}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
            self.addr
        );
        if stream.write_all(head.as_bytes()).is_err() {
            return String::new();
        }
        let mut response = String::new();
        let _ = stream.read_to_string(&mut response);
        response.lines().next().unwrap_or_default().to_string()
    }
}

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A port nobody listens on now. Another process could take it before moto binds it; the
/// readiness check then fails loudly rather than talking to the wrong server.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("bind 127.0.0.1:0")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn moto_starts_answers_and_resets() {
        let moto = Moto::start();
        assert!(moto.endpoint().starts_with("http://127.0.0.1:"));
        moto.reset();
    }
}

/// A webhook receiver on 127.0.0.1: a real HTTP/1.1 listener on its own thread that answers
/// every request with 200 and keeps what it received, for tests of the running service.
pub struct WebhookSink {
    addr: SocketAddr,
    received: std::sync::Arc<std::sync::Mutex<Vec<ReceivedRequest>>>,
}

/// One request as the sink received it.
#[derive(Debug, Clone)]
pub struct ReceivedRequest {
    /// Header names lower-cased.
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl ReceivedRequest {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }
}

impl WebhookSink {
    pub fn start() -> WebhookSink {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind the webhook sink");
        let addr = listener.local_addr().expect("its address");
        let received = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let sink = std::sync::Arc::clone(&received);
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let sink = std::sync::Arc::clone(&sink);
                std::thread::spawn(move || serve_requests(stream, &sink));
            }
        });
        WebhookSink { addr, received }
    }

    /// `http://127.0.0.1:PORT/hook`.
    pub fn url(&self) -> String {
        format!("http://{}/hook", self.addr)
    }

    pub fn received(&self) -> Vec<ReceivedRequest> {
        self.received.lock().expect("the sink's lock").clone()
    }
}

/// Reads requests off one connection (keep-alive) until it closes.
fn serve_requests(stream: TcpStream, sink: &std::sync::Mutex<Vec<ReceivedRequest>>) {
    use std::io::BufRead;
    let mut reader = std::io::BufReader::new(stream);
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).unwrap_or(0) == 0 {
            return;
        }
        let mut headers = Vec::new();
        loop {
            let mut header = String::new();
            if reader.read_line(&mut header).unwrap_or(0) == 0 {
                return;
            }
            let header = header.trim_end();
            if header.is_empty() {
                break;
            }
            if let Some((k, v)) = header.split_once(':') {
                headers.push((k.trim().to_ascii_lowercase(), v.trim().to_string()));
            }
        }
        let length = headers
            .iter()
            .find(|(k, _)| k == "content-length")
            .and_then(|(_, v)| v.parse().ok())
            .unwrap_or(0);
        let mut body = vec![0; length];
        if reader.read_exact(&mut body).is_err() {
            return;
        }
        sink.lock()
            .expect("the sink's lock")
            .push(ReceivedRequest { headers, body });
        let ok = b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n";
        if reader.get_mut().write_all(ok).is_err() {
            return;
        }
    }
}
