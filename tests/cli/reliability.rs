//! Reliability: hostile input, concurrent use (written by the reliability harness work).
