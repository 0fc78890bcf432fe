//! The embedded digits data set: 8×8 images scaled to [0, 1], a fixed 80/20 split.

use flate2::read::GzDecoder;
use ndarray::{Array1, Array2};
use std::io::Read;

static DIGITS_GZ: &[u8] = include_bytes!("../data/digits.csv.gz");

/// Train and test sets: images (n, 64) in [0, 1] and labels (n,).
pub struct Digits {
    pub train_x: Array2<f64>,
    pub train_y: Array1<i64>,
    pub test_x: Array2<f64>,
    pub test_y: Array1<i64>,
}

/// Decodes the embedded CSV and splits it 80/20 after a fixed shuffle.
pub fn load() -> Digits {
    let mut text = String::new();
    GzDecoder::new(DIGITS_GZ)
        .read_to_string(&mut text)
        .expect("embedded data is valid gzip");
    let rows: Vec<Vec<f64>> = text
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            l.split(',')
                .map(|t| t.trim().parse().expect("number"))
                .collect()
        })
        .collect();
    // Fixed shuffle (xorshift, seed 7) so that both sets hold every class.
    let mut order: Vec<usize> = (0..rows.len()).collect();
    let mut s = 7u64;
    for i in (1..order.len()).rev() {
        s ^= s << 13;
        s ^= s >> 7;
        s ^= s << 17;
        order.swap(i, (s % (i as u64 + 1)) as usize);
    }
    let n_train = rows.len() * 4 / 5;
    let split = |idx: &[usize]| {
        let x = Array2::from_shape_fn((idx.len(), 64), |(i, j)| rows[idx[i]][j] / 16.0);
        let y = Array1::from_shape_fn(idx.len(), |i| rows[idx[i]][64] as i64);
        (x, y)
    };
    let (train_x, train_y) = split(&order[..n_train]);
    let (test_x, test_y) = split(&order[n_train..]);
    Digits {
        train_x,
        train_y,
        test_x,
        test_y,
    }
}

/// Uniform Glorot initialisation with a fixed seed.
pub fn glorot(rows: usize, cols: usize, seed: u64) -> Array2<f64> {
    let mut s = seed.max(1);
    let limit = (6.0 / (rows + cols) as f64).sqrt();
    Array2::from_shape_fn((rows, cols), |_| {
        s ^= s << 13;
        s ^= s >> 7;
        s ^= s << 17;
        ((s >> 11) as f64 / (1u64 << 53) as f64 * 2.0 - 1.0) * limit
    })
}
