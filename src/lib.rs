//! vhgate: the information-sharing gateway of a Zorg- en Veiligheidshuis.
//!
//! One module per concern: [`domain`] (validated newtypes), [`policy`] (the three principles in
//! Rego).

pub mod domain;
pub mod policy;
pub mod config;
pub mod crypto;
pub mod disclosure;
pub mod pki;
pub mod record;
pub mod store;
pub mod auth;
pub mod registry;
pub mod tls;
pub mod gateway;
pub mod api;
pub mod server;
pub mod app;
pub mod demo;
pub mod bench;
