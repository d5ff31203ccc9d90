//! The relay: the `idos` command line (and, with later issues, the HTTP API server).
#![forbid(unsafe_code)]

pub mod auth;
pub mod cli;
pub mod store;
pub mod web;
