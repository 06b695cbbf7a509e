#![recursion_limit = "512"]
//! Integration tests: the real server on a random port with a fresh database (SQLite and
//! PostgreSQL), the embedded QStash server delivering signed webhooks, and the simulator over HTTP.

mod helpers;

mod accounts;
mod apify;
mod campaigns;
mod instagram;
mod instances;
mod isolation;
mod jobs;
mod limits;
mod load_balancer;
mod qstash_batch;
mod qstash_flow_control;
mod qstash_leases;
mod qstash_queues;
mod qstash_schedules;
mod qstash_sdks;
mod qstash_server;
mod qstash_standalone;
mod qstash_timed;
mod qstash_url_groups;
mod similar;
mod validation;
mod webhooks;
mod youtube;
