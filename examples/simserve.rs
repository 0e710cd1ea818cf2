#![allow(clippy::unwrap_used, clippy::print_stdout)]
#[tokio::main]
async fn main() {
    let mut cfg = democtl::sim::ServerConfig::default();
    cfg.tls = true;
    cfg.state_file = std::env::args().nth(2).map(Into::into);
    let srv = democtl::sim::SimServer::start(cfg).await.unwrap();
    srv.write_kubeconfig(std::path::Path::new(&std::env::args().nth(1).unwrap()))
        .unwrap();
    println!("{}", srv.url());
    tokio::signal::ctrl_c().await.unwrap();
    srv.shutdown().await.unwrap();
}
