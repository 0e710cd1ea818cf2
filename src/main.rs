//! Entry point: parse, run, exit. Everything else lives in `democtl::app`.

fn main() -> std::process::ExitCode {
    democtl::app::main()
}
