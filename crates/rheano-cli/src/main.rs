//! The `rheano` command.
//!
//! - `rheano` or `rheano train`: trains the 64-32-10 MLP on the embedded digits data.
//! - `rheano autoencoder`: trains the seed's autoencoder and draws reconstructions.
//! - `rheano sigmoids`: draws sigmoid, ultra_fast_sigmoid and hard_sigmoid and their errors.
//! - `rheano accuracy [N]`: the accuracy (ULP) and speed tables of the nnet activations.
//! - `rheano compile-time`: W6, graph to callable function for the autoencoder training step.
//! - `rheano bench [data DIR] [json FILE] [quick]`: W1–W5, W7 on rheano (data from bench/peers.py).
//!
//! Options: `--epochs N`, `--batch N`, `--lr X`, `--out DIR` (where PNGs go; default `rheano-out`).

mod accuracy;
mod bench;
mod compile_time;
mod data;
mod plots;
mod train;

/// Outputs of repeated calls reuse freed blocks (see `rheano::alloc`).
#[global_allocator]
static ALLOC: rheano::alloc::Recycling = rheano::alloc::Recycling::new();

fn usage() -> ! {
    eprintln!("usage: rheano [train|autoencoder|sigmoids|compile-time|accuracy [N]] [--epochs N] [--batch N] [--lr X] [--out DIR]");
    std::process::exit(2);
}

/// The thread count rheano's kernels use (RAYON_NUM_THREADS, else all cores).
fn rayon_threads() -> usize {
    std::env::var("RAYON_NUM_THREADS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| {
            std::thread::available_parallelism()
                .map(|n| n.get())
                .unwrap_or(1)
        })
}

fn main() {
    rheano::alloc::set_limit_from_env();
    let args: Vec<String> = std::env::args().skip(1).collect();
    let mut positional = Vec::new();
    let mut settings = train::Settings {
        epochs: 0,
        batch: 0,
        lr: 0.0,
        out_dir: "rheano-out".into(),
    };
    let (mut epochs, mut batch, mut lr) = (None, None, None);
    let mut it = args.iter();
    while let Some(a) = it.next() {
        let mut value = || it.next().cloned().unwrap_or_else(|| usage());
        match a.as_str() {
            "--epochs" => epochs = Some(value().parse().unwrap_or_else(|_| usage())),
            "--batch" => batch = Some(value().parse().unwrap_or_else(|_| usage())),
            "--lr" => lr = Some(value().parse().unwrap_or_else(|_| usage())),
            "--out" => settings.out_dir = value(),
            "-h" | "--help" => usage(),
            _ => positional.push(a.clone()),
        }
    }
    if let Err(e) = std::fs::create_dir_all(&settings.out_dir) {
        eprintln!("error: cannot create {}: {e}", settings.out_dir);
        std::process::exit(1);
    }
    let command = positional.first().map(String::as_str).unwrap_or("train");
    let result = match command {
        "train" => {
            settings.epochs = epochs.unwrap_or(60);
            settings.batch = batch.unwrap_or(20);
            settings.lr = lr.unwrap_or(0.5);
            train::mlp(&settings).map(|_| ())
        }
        "autoencoder" => {
            settings.epochs = epochs.unwrap_or(100);
            settings.batch = batch.unwrap_or(20);
            settings.lr = lr.unwrap_or(1.0);
            train::autoencoder(&settings).map(|_| ())
        }
        "sigmoids" => train::sigmoids(&settings.out_dir),
        "compile-time" => compile_time::run(),
        "bench" => {
            let get = |flag: &str, default: &str| {
                positional
                    .iter()
                    .position(|p| p == flag)
                    .and_then(|i| positional.get(i + 1).cloned())
                    .unwrap_or_else(|| default.to_string())
            };
            let threads = rayon_threads();
            bench::run(
                &get("data", "bench/data"),
                &get("json", &format!("bench/results/rheano-{threads}.json")),
                threads,
                positional.iter().any(|p| p == "quick"),
            )
        }
        "accuracy" => {
            let n = positional
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
