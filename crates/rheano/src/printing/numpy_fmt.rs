//! numpy's `str()` of arrays and Python's `repr()` of floats, so that constants print exactly
//! as Theano prints them (`TensorConstant{[ 2 -1]}`, `TensorConstant{1e-08}`).

use crate::value::{Element, Value};
use ndarray::ArrayD;

/// Shortest round-trip digits of `x` (as f32 when `single`): (digits, exponent of the first).
fn shortest(x: f64, single: bool) -> (String, i32) {
    let s = if single {
        format!("{:e}", x.abs() as f32)
    } else {
        format!("{:e}", x.abs())
    };
    let (m, e) = s.split_once('e').expect("exponent");
    (m.replace('.', ""), e.parse().expect("exponent"))
}

/// Python's `repr(float)` (and numpy's scalar repr for float32 when `single`).
pub fn py_float_repr(x: f64, single: bool) -> String {
    if x.is_nan() {
        return "nan".into();
    }
    if x.is_infinite() {
        return if x > 0.0 { "inf".into() } else { "-inf".into() };
    }
    let sign = if x.is_sign_negative() { "-" } else { "" };
    let (digits, e) = shortest(x, single);
    if (-4..16).contains(&e) {
        format!("{sign}{}", positional(&digits, e, true))
    } else {
        let (first, rest) = digits.split_at(1);
        let mant = if rest.is_empty() {
            first.to_string()
        } else {
            format!("{first}.{rest}")
        };
        format!(
            "{sign}{mant}e{}{:02}",
            if e < 0 { '-' } else { '+' },
            e.abs()
        )
    }
}

/// Digits placed around the decimal point; `zero_frac` writes `1.0` rather than `1.`.
fn positional(digits: &str, e: i32, zero_frac: bool) -> String {
    let n = digits.len() as i32;
    let (int, frac) = if e < 0 {
        (
            "0".to_string(),
            format!("{}{}", "0".repeat((-e - 1) as usize), digits),
        )
    } else if e + 1 >= n {
        (
            format!("{}{}", digits, "0".repeat((e + 1 - n) as usize)),
            String::new(),
        )
    } else {
        (
            digits[..(e + 1) as usize].to_string(),
            digits[(e + 1) as usize..].to_string(),
        )
    };
    if frac.is_empty() && zero_frac {
        format!("{int}.0")
    } else {
        format!("{int}.{frac}")
    }
}

/// numpy's positional element text with at most 8 fractional digits: (int part, frac part).
fn np_positional(x: f64, single: bool) -> (String, String) {
    let (digits, e) = shortest(x, single);
    let nfrac = (digits.len() as i32 - 1 - e).max(0);
    let s = if nfrac > 8 {
        let t = if single {
            format!("{:.8}", x.abs() as f32)
        } else {
            format!("{:.8}", x.abs())
        };
        let t = t.trim_end_matches('0').to_string();
        t
    } else {
        positional(&digits, e, false)
    };
    let (i, f) = s.split_once('.').expect("point");
    let sign = if x.is_sign_negative() && x != 0.0 || (x == 0.0 && x.is_sign_negative()) {
        "-"
    } else {
        ""
    };
    (format!("{sign}{i}"), f.to_string())
}

/// numpy's scientific element text with at most 8 fractional digits: (mantissa int, frac, exp).
fn np_scientific(x: f64, single: bool) -> (String, String, i32) {
    let (mut digits, mut e) = shortest(x, single);
    if digits.len() > 9 {
        let t = if single {
            format!("{:.8e}", x.abs() as f32)
        } else {
            format!("{:.8e}", x.abs())
        };
        let (m, ex) = t.split_once('e').expect("exp");
        digits = m.replace('.', "").trim_end_matches('0').to_string();
        e = ex.parse().expect("exp");
    }
    let sign = if x.is_sign_negative() { "-" } else { "" };
    let (first, rest) = digits.split_at(1);
    (
        format!("{sign}{first}"),
        rest.trim_end_matches('0').to_string(),
        e,
    )
}

/// numpy's `str(array)`.
pub fn array_str(v: &Value) -> String {
    if v.ndim() == 0 {
        return match v {
            Value::Bool(a) => {
                if a.iter().next() == Some(&true) {
                    "True".into()
                } else {
                    "False".into()
                }
            }
            Value::F32(a) => py_float_repr(a.iter().next().copied().unwrap_or(0.0) as f64, true),
            Value::F64(a) => py_float_repr(a.iter().next().copied().unwrap_or(0.0), false),
            other => other.to_i64_vec()[0].to_string(),
        };
    }
    if v.is_empty() {
        return "[]".into();
    }
    let summarize = v.len() > 1000;
    with_value!(v, a => {
        let fmt = element_formatter(a, summarize, v.dtype());
        format_array(a, &*fmt, summarize)
    })
}

fn shown_values<T: Element>(a: &ArrayD<T>, summarize: bool) -> Vec<T> {
    if !summarize {
        return a.iter().copied().collect();
    }
    // The elements numpy looks at when summarising: 3 from each end of every axis.
    let mut out = Vec::new();
    let shape = a.shape();
    'outer: for (idx, &x) in a.indexed_iter() {
        for (d, &n) in shape.iter().enumerate() {
            let i = idx[d];
            if n > 6 && i >= 3 && i < n - 3 {
                continue 'outer;
            }
        }
        out.push(x);
    }
    out
}

fn element_formatter<T: Element>(
    a: &ArrayD<T>,
    summarize: bool,
    dtype: crate::DType,
) -> Box<dyn Fn(T) -> String> {
    let vals = shown_values(a, summarize);
    if dtype == crate::DType::Bool {
        return Box::new(|x: T| {
            if x.to_bool() {
                " True".into()
            } else {
                "False".into()
            }
        });
    }
    if !dtype.is_float() {
        let w = vals
            .iter()
            .map(|x| x.to_i64().to_string().len())
            .max()
            .unwrap_or(1);
        return Box::new(move |x: T| format!("{:>w$}", x.to_i64()));
    }
    let single = dtype == crate::DType::Float32;
    let f: Vec<f64> = vals.iter().map(|x| x.to_f64()).collect();
    let finite: Vec<f64> = f.iter().copied().filter(|x| x.is_finite()).collect();
    let nonzero: Vec<f64> = finite
        .iter()
        .map(|x| x.abs())
        .filter(|&x| x != 0.0)
        .collect();
    let exp_format = if nonzero.is_empty() {
        false
    } else {
        let max = nonzero.iter().cloned().fold(0.0, f64::max);
        let min = nonzero.iter().cloned().fold(f64::INFINITY, f64::min);
        max >= 1e8 || min < 0.0001 || max / min > 1000.0
    };
    let has_nonfinite = finite.len() != f.len();
    let neg_inf = f.iter().any(|x| x.is_infinite() && *x < 0.0);
    if finite.is_empty() {
        return Box::new(|x: T| py_float_repr(x.to_f64(), false));
    }
    if exp_format {
        let parts: Vec<_> = finite.iter().map(|&x| np_scientific(x, single)).collect();
        let prec = parts.iter().map(|p| p.1.len()).max().unwrap_or(0);
        let exp_size = parts
            .iter()
            .map(|p| p.2.abs().to_string().len().max(2))
            .max()
            .unwrap_or(2);
        let mut pad_left = parts.iter().map(|p| p.0.len()).max().unwrap_or(1);
        let pad_right = exp_size + 2 + prec;
        if has_nonfinite {
            let off = pad_right as i64 + 1;
            pad_left = pad_left
                .max((3 - off).max(0) as usize)
                .max((3 + neg_inf as i64 - off).max(0) as usize);
        }
        Box::new(move |x: T| {
            let x = x.to_f64();
            if !x.is_finite() {
                let r = py_float_repr(x, false);
                return format!(
                    "{}{}",
                    " ".repeat((pad_left + pad_right + 1).saturating_sub(r.len())),
                    r
                );
            }
            let (i, fr, e) = np_scientific(x, single);
            format!(
                "{:>pad_left$}.{:0<prec$}e{}{:0>exp_size$}",
                i,
                fr,
                if e < 0 { '-' } else { '+' },
                e.abs()
            )
        })
    } else {
        let parts: Vec<_> = finite.iter().map(|&x| np_positional(x, single)).collect();
        let mut pad_left = parts.iter().map(|p| p.0.len()).max().unwrap_or(1);
        let pad_right = parts.iter().map(|p| p.1.len()).max().unwrap_or(0);
        if has_nonfinite {
            let off = pad_right as i64 + 1;
            pad_left = pad_left
                .max((3 - off).max(0) as usize)
                .max((3 + neg_inf as i64 - off).max(0) as usize);
        }
        Box::new(move |x: T| {
            let x = x.to_f64();
            if !x.is_finite() {
                let r = py_float_repr(x, false);
                return format!(
                    "{}{}",
                    " ".repeat((pad_left + pad_right + 1).saturating_sub(r.len())),
                    r
                );
            }
            let (i, fr) = np_positional(x, single);
            format!("{:>pad_left$}.{:<pad_right$}", i, fr)
        })
    }
}

fn extend_line(s: &mut String, line: &mut String, word: &str, width: usize, prefix: &str) {
    let needs_wrap = line.len() + word.len() > width && line.len() > prefix.len();
    if needs_wrap {
        s.push_str(line.trim_end());
        s.push('\n');
        *line = prefix.to_string();
    }
    line.push_str(word);
}

/// numpy's `_formatArray` with line width 75, separator ' ' and 3 edge items when summarising.
fn format_array<T: Element>(a: &ArrayD<T>, f: &dyn Fn(T) -> String, summarize: bool) -> String {
    fn rec<T: Element>(
        a: &ndarray::ArrayViewD<T>,
        f: &dyn Fn(T) -> String,
        summarize: bool,
        hanging: &str,
        width: usize,
    ) -> String {
        let n = a.shape()[0];
        let show_summary = summarize && n > 6;
        let (lead, trail) = if show_summary { (3, 3) } else { (0, n) };
        let next_hanging = format!("{hanging} ");
        let next_width = width - 1;
        let item = |i: usize| a.index_axis(ndarray::Axis(0), i);
        let mut s = String::new();
        if a.ndim() == 1 {
            let elem_width = width - 1;
            let mut line = hanging.to_string();
            let idx: Vec<Option<usize>> = (0..lead)
                .map(Some)
                .chain(show_summary.then_some(None))
                .chain((n - trail..n).map(Some))
                .collect();
            for (k, i) in idx.iter().enumerate() {
                let word = match i {
                    Some(i) => f(*item(*i).iter().next().expect("element")),
                    None => "...".to_string(),
                };
                extend_line(&mut s, &mut line, &word, elem_width, hanging);
                if k + 1 < idx.len() {
                    line.push(' ');
                }
            }
            s.push_str(&line);
        } else {
            let sep = "\n".repeat(a.ndim() - 1);
            let idx: Vec<Option<usize>> = (0..lead)
                .map(Some)
                .chain(show_summary.then_some(None))
                .chain((n - trail..n).map(Some))
                .collect();
            for (k, i) in idx.iter().enumerate() {
                s.push_str(hanging);
                match i {
                    Some(i) => s.push_str(&rec(&item(*i), f, summarize, &next_hanging, next_width)),
                    None => s.push_str("..."),
                }
                if k + 1 < idx.len() {
                    s.push_str(&sep);
                }
            }
        }
        format!("[{}]", &s[hanging.len()..])
    }
    rec(&a.view(), f, summarize, " ", 75)
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::array;

    #[test]
    fn python_float_repr() {
        assert_eq!(py_float_repr(1.0, false), "1.0");
        assert_eq!(py_float_repr(0.1, false), "0.1");
        assert_eq!(py_float_repr(1e-8, false), "1e-08");
        assert_eq!(py_float_repr(1e40, false), "1e+40");
        assert_eq!(py_float_repr(1e16, false), "1e+16");
        assert_eq!(py_float_repr(123.5, false), "123.5");
        assert_eq!(py_float_repr(-2.0, false), "-2.0");
        assert_eq!(py_float_repr(0.2, true), "0.2");
        assert_eq!(
            py_float_repr(1.0507009873554805, false),
            "1.0507009873554805"
        );
        assert_eq!(py_float_repr(0.0001, false), "0.0001");
        assert_eq!(py_float_repr(1.5e-7, false), "1.5e-07");
    }

    #[test]
    fn numpy_array_str() {
        assert_eq!(array_str(&array![1.0f64, 2.0].into()), "[1. 2.]");
        assert_eq!(array_str(&array![2i64, -1].into()), "[ 2 -1]");
        assert_eq!(array_str(&array![0.5f64, 1.25].into()), "[0.5  1.25]");
        assert_eq!(
            array_str(&array![[1.0f64, 2.0], [3.0, 4.0]].into()),
            "[[1. 2.]\n [3. 4.]]"
        );
        assert_eq!(array_str(&array![1e-8f64, 1.0].into()), "[1.e-08 1.e+00]");
        assert_eq!(array_str(&array![true, false].into()), "[ True False]");
        assert_eq!(array_str(&array![f64::NAN, 1.0].into()), "[nan  1.]");
        let r: Vec<f64> = (0..20).map(|i| i as f64).collect();
        let s = array_str(&ndarray::Array1::from(r).into());
        assert!(s.starts_with("[ 0.  1.  2."), "{s}");
        assert!(s.ends_with("17.\n 18. 19.]"), "{s}");
        let big: Vec<i64> = (0..2000).collect();
        assert_eq!(
            array_str(&ndarray::Array1::from(big).into()),
            "[   0    1    2 ... 1997 1998 1999]"
        );
    }
}
