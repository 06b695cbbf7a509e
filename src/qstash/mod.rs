//! Upstash QStash: the publishing client, the webhook receiver (signature verification), and the
//! embedded QStash-compatible server used when no QStash is configured.

pub mod client;
pub mod dev_server;
pub mod receiver;
pub mod signing;
