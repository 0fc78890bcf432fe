//! The `rheano` command end to end: training reaches the accuracy the README claims and the
//! PNGs are written.

use std::process::Command;

fn out_dir(name: &str) -> String {
    let d = format!("{}/cli-test-{name}", env!("CARGO_TARGET_TMPDIR"));
    let _ = std::fs::remove_dir_all(&d);
    d
}

fn run(args: &[&str]) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_rheano"))
        .args(args)
        .output()
        .expect("runs");
    let text =
        String::from_utf8_lossy(&out.stdout).to_string() + &String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{args:?} failed:\n{text}");
    text
}

fn png_ok(path: &str) {
    let bytes = std::fs::read(path).unwrap_or_else(|e| panic!("{path}: {e}"));
    assert_eq!(&bytes[..8], b"\x89PNG\r\n\x1a\n", "{path} is a PNG");
    assert!(bytes.len() > 5000, "{path} has content");
}

#[test]
fn default_training_reaches_95_percent() {
    let d = out_dir("train");
    let text = run(&["--out", &d]);
    let acc: f64 = text
        .lines()
        .find_map(|l| l.strip_prefix("test accuracy: "))
        .and_then(|l| l.split('%').next())
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("no accuracy in:\n{text}"));
    assert!(acc >= 95.0, "accuracy {acc}%");
    assert!(text.contains("confusion matrix"));
    assert!(text.contains("cost = (Sum{acc_dtype=float64}(CrossentropyCategorical1Hot(Softmax("));
    png_ok(&format!("{d}/loss_curve.png"));
}

#[test]
fn autoencoder_and_sigmoid_pictures() {
    let d = out_dir("ae");
    let text = run(&["autoencoder", "--epochs", "5", "--out", &d]);
    assert!(text.contains("test reconstruction cost"));
    png_ok(&format!("{d}/reconstructions.png"));
    png_ok(&format!("{d}/autoencoder_loss.png"));
    let text = run(&["sigmoids", "--out", &d]);
    assert!(
        text.contains("max |ultra_fast_sigmoid - sigmoid| on [-6, 6] = 0.0276"),
        "{text}"
    );
    png_ok(&format!("{d}/sigmoids.png"));
}

#[test]
fn bad_arguments_are_reported() {
    let out = Command::new(env!("CARGO_BIN_EXE_rheano"))
        .args(["nonsense"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("usage"));
}
