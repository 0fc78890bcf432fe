//! The `rheano` command.
//!
//! - `rheano accuracy [N]`: accuracy (ULP) and speed tables of the nnet activations.

mod accuracy;

fn usage() -> ! {
    eprintln!("usage: rheano [accuracy [N]]");
    std::process::exit(2);
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match args.first().map(String::as_str) {
        Some("accuracy") => {
            let n = args
                .get(1)
                .map(|s| s.parse().unwrap_or_else(|_| usage()))
                .unwrap_or(10_000_000);
            accuracy::run(n)
        }
        _ => usage(),
    };
    if let Err(e) = result {
        eprintln!("error: {e}");
        std::process::exit(1);
    }
}
