//! HTTP downloads (URL marketplaces) through reqwest, which honours `HTTPS_PROXY`,
//! `HTTP_PROXY` and `NO_PROXY`.

use std::time::Duration;

/// Largest response pm accepts for a marketplace file (32 MiB): a cap, not a guess.
pub const MAX_DOWNLOAD_BYTES: u64 = 32 * 1024 * 1024;

/// A failed download.
#[derive(Debug, thiserror::Error)]
pub enum DownloadError {
    /// The server answered with an error status.
    #[error("HTTP {status}")]
    Status { status: u16 },
    /// Could not connect, timed out, or the body could not be read.
    #[error("{0}")]
    Transport(String),
    /// The body is larger than [`MAX_DOWNLOAD_BYTES`].
    #[error("the response is larger than {} MiB", MAX_DOWNLOAD_BYTES / 1024 / 1024)]
    TooLarge,
}

/// Downloads `url` and returns its body. Credentials in the URL are never echoed: error
/// texts are built from the status or reqwest's kind, without the URL.
pub fn download(url: &str) -> Result<Vec<u8>, DownloadError> {
    use std::io::Read;
    let client = reqwest::blocking::Client::builder()
        .timeout(Duration::from_secs(120))
        .connect_timeout(Duration::from_secs(30))
        .user_agent(concat!("pm/", env!("CARGO_PKG_VERSION")))
        .build()
        .map_err(|e| DownloadError::Transport(e.without_url().to_string()))?;
    let response = client
        .get(url)
        .send()
        .map_err(|e| DownloadError::Transport(describe(e)))?;
    let status = response.status();
    if !status.is_success() {
        return Err(DownloadError::Status {
            status: status.as_u16(),
        });
    }
    if response
        .content_length()
        .is_some_and(|len| len > MAX_DOWNLOAD_BYTES)
    {
        return Err(DownloadError::TooLarge);
    }
    let mut body = Vec::new();
    response
        .take(MAX_DOWNLOAD_BYTES + 1)
        .read_to_end(&mut body)
        .map_err(|e| DownloadError::Transport(e.to_string()))?;
    if body.len() as u64 > MAX_DOWNLOAD_BYTES {
        return Err(DownloadError::TooLarge);
    }
    Ok(body)
}

fn describe(error: reqwest::Error) -> String {
    let kind = if error.is_connect() {
        "could not connect"
    } else if error.is_timeout() {
        "timed out"
    } else {
        "request failed"
    };
    let mut message = kind.to_string();
    let mut source = std::error::Error::source(&error);
    while let Some(cause) = source {
        message = format!("{message}: {cause}");
        source = cause.source();
    }
    message
}

/// The client of [`get_json`] and [`download_to`]: the same settings as [`download`]
/// (proxies from `HTTPS_PROXY` / `HTTP_PROXY` / `NO_PROXY`, timeouts, user agent).
fn client() -> Result<reqwest::blocking::Client, DownloadError> {
    reqwest::blocking::Client::builder()
        .timeout(Duration::from_secs(300))
        .connect_timeout(Duration::from_secs(30))
        .user_agent(concat!("pm/", env!("CARGO_PKG_VERSION")))
        .build()
        .map_err(|e| DownloadError::Transport(e.without_url().to_string()))
}

/// Sends a GET for `url` with `accept`; the response when its status is a success.
fn get(url: &str, accept: &str) -> Result<reqwest::blocking::Response, DownloadError> {
    let response = client()?
        .get(url)
        .header(reqwest::header::ACCEPT, accept)
        .send()
        .map_err(|e| DownloadError::Transport(describe(e)))?;
    let status = response.status();
    if !status.is_success() {
        return Err(DownloadError::Status {
            status: status.as_u16(),
        });
    }
    Ok(response)
}

/// GETs `url` as JSON (`accept` names the media types wanted) and parses the body, which may
/// be at most `max_bytes` long ([`DownloadError::TooLarge`] otherwise).
pub fn get_json(
    url: &str,
    accept: &str,
    max_bytes: u64,
) -> Result<serde_json::Value, DownloadError> {
    use std::io::Read;
    let response = get(url, accept)?;
    if response.content_length().is_some_and(|len| len > max_bytes) {
        return Err(DownloadError::TooLarge);
    }
    let mut body = Vec::new();
    response
        .take(max_bytes + 1)
        .read_to_end(&mut body)
        .map_err(|e| DownloadError::Transport(e.to_string()))?;
    if body.len() as u64 > max_bytes {
        return Err(DownloadError::TooLarge);
    }
    serde_json::from_slice(&body)
        .map_err(|e| DownloadError::Transport(format!("the response is not JSON: {e}")))
}

/// Streams the body of `url` into `out`, at most `max_bytes` of it ([`DownloadError::TooLarge`]
/// otherwise); returns the number of bytes written.
pub fn download_to(
    url: &str,
    out: &mut dyn std::io::Write,
    max_bytes: u64,
) -> Result<u64, DownloadError> {
    use std::io::Read;
    let response = get(url, "application/octet-stream, */*")?;
    if response.content_length().is_some_and(|len| len > max_bytes) {
        return Err(DownloadError::TooLarge);
    }
    let written = std::io::copy(&mut response.take(max_bytes + 1), out)
        .map_err(|e| DownloadError::Transport(e.to_string()))?;
    if written > max_bytes {
        return Err(DownloadError::TooLarge);
    }
    Ok(written)
}
