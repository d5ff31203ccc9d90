//! How commands read their input and print their results.

use std::io::{self, Read, Write};

use zeroize::Zeroizing;

/// A command failure: one line for a person, with the stable code of the underlying error.
#[derive(Debug, thiserror::Error)]
pub enum CliError {
    /// Invalid input or a failed cryptographic check.
    #[error("{0}")]
    Protocol(#[from] protocol::Error),
    /// Reading standard input or writing standard output failed.
    #[error("{context}: {source}")]
    Io {
        context: &'static str,
        source: io::Error,
    },
    /// The node refused or failed.
    #[error("{0}")]
    Node(#[from] node::error::NodeError),
    /// A relay refused, could not be reached, or a fetched credential failed its checks (the
    /// message starts with the code).
    #[error("{0}")]
    Client(#[from] idos_client::ClientError),
    /// Anything else a person must fix.
    #[error("{0}")]
    Usage(String),
}

impl CliError {
    /// The stable machine-readable code.
    pub fn code(&self) -> &str {
        match self {
            CliError::Protocol(e) => e.code(),
            CliError::Io { .. } => "io",
            CliError::Node(e) => e.code(),
            CliError::Client(e) => e.code(),
            CliError::Usage(_) => "usage",
        }
    }
}

/// Reads all of standard input, into a buffer wiped on drop.
pub fn read_stdin(what: &'static str) -> Result<Zeroizing<Vec<u8>>, CliError> {
    let mut buf = Zeroizing::new(Vec::new());
    io::stdin()
        .lock()
        .read_to_end(&mut buf)
        .map_err(|source| CliError::Io {
            context: what,
            source,
        })?;
    Ok(buf)
}

/// Reads the first line of standard input without its line ending (`\n` or `\r\n`).
pub fn read_stdin_line(what: &'static str) -> Result<Zeroizing<String>, CliError> {
    let mut bytes = read_stdin(what)?;
    if let Some(end) = bytes.iter().position(|&b| b == b'\n') {
        bytes.truncate(end);
    }
    if bytes.last() == Some(&b'\r') {
        bytes.pop();
    }
    let text = std::str::from_utf8(&bytes)
        .map_err(|_| CliError::Usage(format!("{what} is not valid UTF-8")))?;
    Ok(Zeroizing::new(text.to_owned()))
}

/// Writes bytes to standard output exactly.
pub fn write_stdout(bytes: &[u8]) -> Result<(), CliError> {
    let mut out = io::stdout().lock();
    out.write_all(bytes)
        .and_then(|()| out.flush())
        .map_err(|source| CliError::Io {
            context: "could not write to standard output",
            source,
        })
}

/// Prints named fields: as one JSON object with `--json`, else as `name: value` lines.
pub fn print_fields(json: bool, fields: &[(&str, &str)]) -> Result<(), CliError> {
    let text = if json {
        let object: serde_json::Map<String, serde_json::Value> = fields
            .iter()
            .map(|(k, v)| ((*k).to_owned(), serde_json::Value::String((*v).to_owned())))
            .collect();
        Zeroizing::new(format!("{}\n", serde_json::Value::Object(object)))
    } else {
        Zeroizing::new(
            fields
                .iter()
                .map(|(k, v)| format!("{k}: {v}\n"))
                .collect::<String>(),
        )
    };
    write_stdout(text.as_bytes())
}
