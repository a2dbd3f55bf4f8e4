//! The HTTPS client webhooks and built-in rotators use: the gateway's (platform roots, an
//! extra CA when a rotator names one).

pub use tresor_gateway::upstream::{UpstreamClient as Client, Upstreams as Clients};
