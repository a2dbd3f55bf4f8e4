//! `tresor-bench mock-upstream`: the AI provider the gateway benchmark calls, as a process of
//! its own: `tresor_gateway::mock::MockUpstream` (OpenAI chat completions as JSON or SSE,
//! Anthropic messages, fixed usage, no recording), so that its CPU is not shared with the load
//! generator's runtime and the direct figures are a real network hop like the others.

use std::net::SocketAddr;

use tresor_gateway::mock::MockUpstream;

/// Options of `tresor-bench mock-upstream`.
#[derive(clap::Args)]
pub struct Args {
    /// Address to listen on (port 0: any free port; the address is printed when ready).
    #[arg(long, default_value = "127.0.0.1:0")]
    pub listen: SocketAddr,
}

pub fn run(args: Args) -> crate::BenchResult {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("cannot start the async runtime: {e}"))?;
    runtime.block_on(async {
        let listen = args.listen.to_string();
        let mock = MockUpstream::start_on(&listen, false)
            .await
            .map_err(|e| format!("cannot listen on {listen}: {e}"))?;
        // The line `gateway-compare` and the smoke tests wait for (same shape as Tresor's).
        println!("Mock upstream listening on http://{}", mock.addr);
        // Serves until killed; dropping `mock` would stop it.
        let _ = tokio::signal::ctrl_c().await;
        drop(mock);
        Ok(())
    })
}
