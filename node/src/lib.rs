//! The idOS storage node (filled in by the node issue).
#![forbid(unsafe_code)]
