//! The relay: the `idos` command line and the HTTP API server in front of a node.
#![forbid(unsafe_code)]

pub mod access_log;
pub mod api;
pub mod auth;
pub mod cli;
pub mod config;
pub mod gateway;
pub mod node_client;
pub mod ops;
pub mod store;
pub mod web;
