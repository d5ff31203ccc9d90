//! The `idos` binary: the relay server and the command-line tools.
#![forbid(unsafe_code)]

use std::process::ExitCode;

fn main() -> ExitCode {
    relay::cli::main()
}
