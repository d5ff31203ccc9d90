//! The idOS enclave (filled in by the enclave issue).
