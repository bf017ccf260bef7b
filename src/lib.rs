//! vhgate: the information-sharing gateway of a Zorg- en Veiligheidshuis.
//!
//! One module per concern: [`domain`] (validated newtypes), [`policy`] (the three principles in
//! Rego).

pub mod admin;
pub mod api;
pub mod app;
pub mod auth;
pub mod bench;
pub mod budget;
pub mod casework;
pub mod config;
pub mod console;
pub mod crypto;
pub mod demo;
pub mod disclosure;
pub mod domain;
pub mod fuzz;
pub mod gateway;
pub mod logging;
pub mod pki;
pub mod policy;
pub mod record;
pub mod registry;
pub mod server;
pub mod signals;
pub mod spoed;
pub mod store;
pub mod telemetry;
pub mod tls;
pub mod trace;
pub mod witness;
