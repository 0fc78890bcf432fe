//! Values of every core op, compiled and run.

use ndarray::{array, ArrayD, IxDyn};
use rheano::prelude::*;

fn run(out: &Var, inputs: &[(&Var, Value)]) -> Value {
    out.eval(inputs).unwrap()
}

fn vals(out: &Var, inputs: &[(&Var, Value)]) -> Vec<f64> {
    run(out, inputs).to_f64_vec()
}

#[test]
fn elementwise_arithmetic_and_math() {
    let [x, y] = T::dvectors(["x", "y"]);
    let xv = || -> Value { array![-2.5, 0.5, 3.0].into() };
    let yv = || -> Value { array![2.0, -1.5, 0.25].into() };
    let ins = |a: Value, b: Value| vec![(&x, a), (&y, b)];
    let cases: Vec<(Var, Vec<f64>)> = vec![
        (&x + &y, vec![-0.5, -1.0, 3.25]),
        (&x - &y, vec![-4.5, 2.0, 2.75]),
        (&x * &y, vec![-5.0, -0.75, 0.75]),
        (&x / &y, vec![-1.25, -1.0 / 3.0, 12.0]),
        (T::int_div(&x, &y), vec![-2.0, -1.0, 12.0]),
        (&x % &y, vec![1.5, -1.0, 0.0]),
        (-&x, vec![2.5, -0.5, -3.0]),
        (T::abs(&x), vec![2.5, 0.5, 3.0]),
        (T::maximum(&x, &y), vec![2.0, 0.5, 3.0]),
        (T::minimum(&x, &y), vec![-2.5, -1.5, 0.25]),
        (T::sqr(&x), vec![6.25, 0.25, 9.0]),
        (T::inv(&y), vec![0.5, -1.0 / 1.5, 4.0]),
        (T::clip(&x, -1.0, 1.0), vec![-1.0, 0.5, 1.0]),
        (T::switch(T::gt(&x, 0), &x, &y), vec![2.0, 0.5, 3.0]),
        (
            T::pow(T::abs(&x), &y),
            vec![6.25, 0.5f64.powf(-1.5), 3.0f64.powf(0.25)],
        ),
    ];
    for (out, want) in cases {
        let got = vals(&out, &ins(xv(), yv()));
        for (g, w) in got.iter().zip(&want) {
            assert!(
                (g - w).abs() <= 1e-15 * w.abs().max(1.0),
                "{}: {got:?} vs {want:?}",
                pprint(&out)
            );
        }
    }
    type MathCase = (Var, fn(f64) -> f64);
    let math: Vec<MathCase> = vec![
        (T::exp(&x), f64::exp),
        (T::log(T::abs(&x)), |v| v.abs().ln()),
        (T::log1p(T::abs(&x)), |v| v.abs().ln_1p()),
        (T::expm1(&x), f64::exp_m1),
        (T::sqrt(T::abs(&x)), |v| v.abs().sqrt()),
        (T::tanh(&x), f64::tanh),
        (T::sin(&x), f64::sin),
        (T::cos(&x), f64::cos),
    ];
    for (out, f) in math {
        let got = vals(&out, &[(&x, xv())]);
        let want: Vec<f64> = [-2.5, 0.5, 3.0].iter().map(|&v| f(v)).collect();
        assert_eq!(got, want, "{}", pprint(&out));
    }
}

#[test]
fn comparisons_and_logic_return_bool() {
    let [x, y] = T::dvectors(["x", "y"]);
    let ins = || {
        vec![
            (&x, Value::from(array![1.0, 2.0, f64::NAN])),
            (&y, Value::from(array![2.0, 2.0, 1.0])),
        ]
    };
    let b = |v: Value| {
        v.into_array::<bool>()
            .unwrap()
            .iter()
            .copied()
            .collect::<Vec<_>>()
    };
    assert_eq!(b(run(&T::gt(&x, &y), &ins())), vec![false, false, false]);
    assert_eq!(b(run(&T::lt(&x, &y), &ins())), vec![true, false, false]);
    assert_eq!(b(run(&T::ge(&x, &y), &ins())), vec![false, true, false]);
    assert_eq!(b(run(&T::le(&x, &y), &ins())), vec![true, true, false]);
    assert_eq!(b(run(&T::eq(&x, &y), &ins())), vec![false, true, false]);
    assert_eq!(b(run(&T::neq(&x, &y), &ins())), vec![true, false, true]);
    assert_eq!(
        b(run(&T::and_(T::lt(&x, &y), T::le(&x, &y)), &ins())),
        vec![true, false, false]
    );
    assert_eq!(
        b(run(&T::or_(T::gt(&x, &y), T::eq(&x, &y)), &ins())),
        vec![false, true, false]
    );
    assert_eq!(
        b(run(&T::not_(T::eq(&x, &y)), &ins())),
        vec![true, false, true]
    );
    // NaN propagates through maximum, and passes through clip.
    let m = vals(&T::maximum(&x, &y), &ins());
    assert!(m[2].is_nan());
    assert!(vals(&T::clip(&x, 0, 1), &ins())[2].is_nan());
}

#[test]
fn integer_arithmetic_wraps_like_numpy() {
    let a = T::bvector("a");
    let v = vals(&(&a + &a), &[(&a, array![100i8, -3].into())]);
    assert_eq!(v, vec![-56.0, -6.0]);
    let i = T::ivector("i");
    let j = T::ivector("j");
    let ins = || {
        vec![
            (&i, Value::from(array![7i32, -7, 7, -7])),
            (&j, Value::from(array![2i32, 2, -2, -2])),
        ]
    };
    assert_eq!(
        vals(&T::int_div(&i, &j), &ins()),
        vec![3.0, -4.0, -4.0, 3.0]
    );
    assert_eq!(vals(&(&i % &j), &ins()), vec![1.0, 1.0, -1.0, -1.0]);
    assert_eq!(run(&(&i / &j), &ins()).dtype(), DType::Float64);
    assert_eq!(vals(&(&i / &j), &ins()), vec![3.5, -3.5, -3.5, 3.5]);
    assert_eq!(vals(&i.pow(2), &ins()), vec![49.0; 4]);
    assert!(
        T::pow(&i, &j).eval(&ins()).is_err(),
        "negative integer powers are an error"
    );
}

#[test]
fn casts() {
    let d = T::dvector("d");
    let out = T::cast(&d, DType::Int8);
    let r = run(&out, &[(&d, array![1.9, -1.9, 300.0].into())]);
    assert_eq!(r.dtype(), DType::Int8);
    assert_eq!(r.to_i64_vec(), vec![1, -1, 44]);
    assert_eq!(
        run(&T::cast(&d, DType::Bool), &[(&d, array![0.0, 2.0].into())]).to_i64_vec(),
        vec![0, 1]
    );
    assert_eq!(T::cast(&d, DType::Float64), d);
}

/// Float32 inputs of float64 steps (and float64 inputs of float32 ones, through a cast) are
/// converted block by block as they are read: the values of the whole-array conversion, bit
/// for bit, for sizes within one block, across blocks, and large enough to run in parallel
/// chunks; fused, unfused, in place and broadcast.
#[test]
fn mixed_float_types_convert_as_they_are_read() {
    let (f, d) = (T::fmatrix("f"), T::dmatrix("d"));
    let g = T::fmatrix("g");
    for &(rows, cols) in &[(3usize, 5usize), (7, 300), (512, 600)] {
        let n = rows * cols;
        let fv: Vec<f32> = (0..n)
            .map(|i| ((i * 37) % 101) as f32 * 0.173 - 8.0)
            .collect();
        let gv: Vec<f32> = (0..n)
            .map(|i| ((i * 11) % 29) as f32 * 0.31 - 4.0)
            .collect();
        let dv: Vec<f64> = (0..n).map(|i| ((i * 7) % 23) as f64 * 0.1 + 1e-9).collect();
        let fa: Value = ArrayD::from_shape_vec(IxDyn(&[rows, cols]), fv.clone())
            .unwrap()
            .into();
        let ga: Value = ArrayD::from_shape_vec(IxDyn(&[rows, cols]), gv.clone())
            .unwrap()
            .into();
        let da: Value = ArrayD::from_shape_vec(IxDyn(&[rows, cols]), dv.clone())
            .unwrap()
            .into();
        // float32 · float64 → float64 (one step).
        let got = run(&(&f * &d), &[(&f, fa.clone()), (&d, da.clone())]);
        assert_eq!(got.dtype(), DType::Float64);
        let want: Vec<f64> = fv.iter().zip(&dv).map(|(&a, &b)| a as f64 * b).collect();
        assert_eq!(got.to_f64_vec(), want, "{rows}×{cols} f·d");
        // A float32 program's result times a float64 constant matrix (Theano's
        // `fmatrix * 0.001` under floatX=float64), then a further float64 op.
        let e = ((T::nnet::sigmoid(&f) - &g) * &d + 1.0) * &d;
        let got = run(&e, &[(&f, fa.clone()), (&g, ga.clone()), (&d, da.clone())]);
        let s32 = run(
            &(T::nnet::sigmoid(&f) - &g),
            &[(&f, fa.clone()), (&g, ga.clone())],
        )
        .to_f64_vec();
        let want: Vec<f64> = s32
            .iter()
            .zip(&dv)
            .map(|(&s, &b)| (s * b + 1.0) * b)
            .collect();
        assert_eq!(got.to_f64_vec(), want, "{rows}×{cols} fused");
        // float64 → float32 through a cast, read by a float32 step.
        let c = T::cast(&d, DType::Float32) * &f;
        let got = run(&c, &[(&f, fa.clone()), (&d, da.clone())]);
        assert_eq!(got.dtype(), DType::Float32);
        let want: Vec<f64> = fv
            .iter()
            .zip(&dv)
            .map(|(&a, &b)| ((b as f32) * a) as f64)
            .collect();
        assert_eq!(got.to_f64_vec(), want, "{rows}×{cols} cast");
    }
}

#[test]
fn broadcasting_rules() {
    let m = T::dmatrix("m");
    let r = T::drow("r");
    let c = T::dcol("c");
    let v = T::dvector("v");
    let mv = array![[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]];
    assert_eq!(
        vals(
            &(&m + &v),
            &[
                (&m, mv.clone().into()),
                (&v, array![10.0, 20.0, 30.0].into())
            ]
        ),
        vec![11.0, 22.0, 33.0, 14.0, 25.0, 36.0]
    );
    assert_eq!(
        vals(
            &(&m + &r),
            &[
                (&m, mv.clone().into()),
                (&r, array![[1.0, 1.0, 1.0]].into())
            ]
        ),
        vec![2.0, 3.0, 4.0, 5.0, 6.0, 7.0]
    );
    let rc = run(
        &(&r + &c),
        &[
            (&r, array![[1.0, 2.0]].into()),
            (&c, array![[10.0], [20.0]].into()),
        ],
    );
    assert_eq!(rc.shape(), &[2, 2]);
    assert_eq!(rc.to_f64_vec(), vec![11.0, 12.0, 21.0, 22.0]);
    // Two matrices of shapes (1,3) and (2,3): no broadcasting on non-broadcastable dims.
    let m2 = T::dmatrix("m2");
    let err = (&m + &m2)
        .eval(&[(&m, array![[1.0, 2.0, 3.0]].into()), (&m2, mv.into())])
        .unwrap_err();
    let msg = err.to_string();
    assert!(matches!(err, Error::Value { .. }), "{err:?}");
    assert!(
        msg.contains("Elemwise{add,no_inplace}") && msg.contains("Input dimension mis-match"),
        "{msg}"
    );
    assert!(
        msg.contains("input[0].shape[0] = 1, input[1].shape[0] = 2"),
        "{msg}"
    );
}

#[test]
fn dot_every_rank_pair() {
    let a1 = array![1.0, 2.0];
    let m = array![[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]];
    let (v, w, mm, s) = (
        T::dvector("v"),
        T::dvector("w"),
        T::dmatrix("m"),
        T::dscalar("s"),
    );
    let r = run(
        &T::dot(&v, &w),
        &[(&v, a1.clone().into()), (&w, array![3.0, 4.0].into())],
    );
    assert_eq!((r.ndim(), r.to_f64_vec()), (0, vec![11.0]));
    let r = run(
        &T::dot(&mm, &v),
        &[(&mm, m.clone().into()), (&v, a1.clone().into())],
    );
    assert_eq!(r.to_f64_vec(), vec![5.0, 11.0, 17.0]);
    let r = run(
        &T::dot(&v, mm.t()),
        &[(&mm, m.clone().into()), (&v, a1.clone().into())],
    );
    assert_eq!(r.to_f64_vec(), vec![5.0, 11.0, 17.0]);
    let m2 = T::dmatrix("m2");
    let r = run(
        &T::dot(&mm, &m2),
        &[
            (&mm, m.clone().into()),
            (&m2, array![[1.0, 0.0, 1.0], [0.0, 1.0, 1.0]].into()),
        ],
    );
    assert_eq!(r.shape(), &[3, 3]);
    assert_eq!(
        r.to_f64_vec(),
        vec![1.0, 2.0, 3.0, 3.0, 4.0, 7.0, 5.0, 6.0, 11.0]
    );
    let r = run(
        &T::dot(&s, &v),
        &[(&s, 2.0.into()), (&v, a1.clone().into())],
    );
    assert_eq!(r.to_f64_vec(), vec![2.0, 4.0]);
    // Rank 3: sum over the last axis of a and the second-to-last of b (numpy's dot).
    let t = T::dtensor3("t");
    let tv = ArrayD::from_shape_vec(IxDyn(&[2, 2, 2]), (0..8).map(|i| i as f64).collect()).unwrap();
    let r = run(
        &T::dot(&t, &v),
        &[(&t, tv.clone().into()), (&v, a1.clone().into())],
    );
    assert_eq!(r.shape(), &[2, 2]);
    assert_eq!(r.to_f64_vec(), vec![2.0, 8.0, 14.0, 20.0]);
    let r = run(
        &T::dot(&mm, &t),
        &[(&mm, m.clone().into()), (&t, tv.into())],
    );
    assert_eq!(r.shape(), &[3, 2, 2]);
    assert_eq!(&r.to_f64_vec()[..4], &[4.0, 7.0, 16.0, 19.0]);
    // Integer dot keeps the integer upcast.
    let (ia, ib) = (T::imatrix("a"), T::ivector("b"));
    let r = run(
        &T::dot(&ia, &ib),
        &[
            (&ia, array![[1i32, 2], [3, 4]].into()),
            (&ib, array![1i32, 1].into()),
        ],
    );
    assert_eq!((r.dtype(), r.to_i64_vec()), (DType::Int32, vec![3, 7]));
    // Inner-dimension mismatch: a clear error naming dot and the shapes.
    let err = T::dot(&mm, &v)
        .eval(&[(&mm, m.into()), (&v, array![1.0, 2.0, 3.0].into())])
        .unwrap_err();
    assert!(
        err.to_string().contains("dot") && err.to_string().contains("[3, 2]"),
        "{err}"
    );
}

#[test]
fn reductions_with_axes() {
    let m = T::dmatrix("m");
    let mv = || -> Value { array![[1.0, 5.0, 3.0], [4.0, 2.0, 6.0]].into() };
    let ins = || vec![(&m, mv())];
    assert_eq!(vals(&m.sum(), &ins()), vec![21.0]);
    assert_eq!(vals(&T::sum(&m, 0, false), &ins()), vec![5.0, 7.0, 9.0]);
    assert_eq!(vals(&T::sum(&m, -1, false), &ins()), vec![9.0, 12.0]);
    let k = run(&T::sum(&m, 1, true), &ins());
    assert_eq!(k.shape(), &[2, 1]);
    assert_eq!(vals(&T::prod(&m, 1, false), &ins()), vec![15.0, 48.0]);
    assert_eq!(vals(&T::mean(&m, 0, false), &ins()), vec![2.5, 3.5, 4.5]);
    assert_eq!(vals(&m.mean(), &ins()), vec![3.5]);
    assert_eq!(vals(&T::mean(&m, [0, 1], false), &ins()), vec![3.5]);
    assert_eq!(vals(&T::max(&m, 1, false), &ins()), vec![5.0, 6.0]);
    assert_eq!(vals(&T::min(&m, 0, false), &ins()), vec![1.0, 2.0, 3.0]);
    assert_eq!(vals(&T::argmax(&m, 1, false), &ins()), vec![1.0, 2.0]);
    assert_eq!(vals(&T::argmin(&m, 0, false), &ins()), vec![0.0, 1.0, 0.0]);
    assert_eq!(vals(&m.argmax(), &ins()), vec![5.0]);
    assert_eq!(run(&T::max(&m, 1, true), &ins()).shape(), &[2, 1]);
    assert_eq!(run(&T::argmax(&m, 0, true), &ins()).shape(), &[1, 3]);
    let i = T::bvector("i");
    let s = run(&i.sum(), &[(&i, array![100i8, 100, 100].into())]);
    assert_eq!((s.dtype(), s.to_i64_vec()), (DType::Int64, vec![300]));
    let u = T::tensor(DType::UInt8, &[false], "u");
    assert_eq!(vals(&u.min(), &[(&u, array![3u8, 1, 2].into())]), vec![1.0]);
    assert_eq!(
        vals(&u.argmin(), &[(&u, array![3u8, 0, 2].into())]),
        vec![1.0]
    );
    // NaN wins max, like numpy.
    let x = T::dvector("x");
    assert!(vals(&x.max(), &[(&x, array![1.0, f64::NAN].into())])[0].is_nan());
    // Bad axis: an error naming the op.
    let e = T::sum(&m, 2, false).check().unwrap_err().to_string();
    assert!(e.contains("Sum") && e.contains("axis 2"), "{e}");
    // Empty max.
    assert!(x
        .max()
        .eval(&[(&x, ndarray::Array1::<f64>::zeros(0).into())])
        .is_err());
}

/// The float32 mean of 10^6 values is within 2 ULP of the exact mean.
#[test]
fn float32_mean_of_a_million_values() {
    let n = 1_000_000;
    // Deterministic pseudo-random values in [0, 1000).
    let mut state = 0x2545F4914F6CDD1Du64;
    let data: Vec<f32> = (0..n)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            (state >> 40) as f32 / (1u64 << 24) as f32 * 1000.0
        })
        .collect();
    // Exact mean: the sum of f32 values is exact in i128 fixed point (2^-24 resolution × 1000 scale
    // is not exact, so use f64 with compensated summation, accurate to ~1e-16 relative).
    let (mut s, mut comp) = (0.0f64, 0.0f64);
    for &v in &data {
        let y = v as f64 - comp;
        let t = s + y;
        comp = (t - s) - y;
        s = t;
    }
    let exact = (s / n as f64) as f32;
    let x = T::fvector("x");
    let got = x
        .mean()
        .eval(&[(&x, ndarray::Array1::from(data).into())])
        .unwrap();
    assert_eq!(got.dtype(), DType::Float32);
    let g = got
        .into_array::<f32>()
        .unwrap()
        .iter()
        .copied()
        .next()
        .unwrap();
    let ulps = (g.to_bits() as i64 - exact.to_bits() as i64).abs();
    assert!(ulps <= 2, "mean {g} vs exact {exact}: {ulps} ULP");
}

#[test]
fn shape_ops() {
    let m = T::dmatrix("m");
    let mv = || -> Value { array![[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]].into() };
    let ins = || vec![(&m, mv())];
    let t = run(&m.t(), &ins());
    assert_eq!(
        (t.shape().to_vec(), t.to_f64_vec()),
        (vec![3, 2], vec![1.0, 4.0, 2.0, 5.0, 3.0, 6.0])
    );
    assert_eq!(run(&m.reshape(&[3, -1]), &ins()).shape(), &[3, 2]);
    assert_eq!(
        run(&m.flatten(), &ins()).to_f64_vec(),
        vec![1.0, 2.0, 3.0, 4.0, 5.0, 6.0]
    );
    let t3 = T::dtensor3("t3");
    let f2 = T::flatten(&t3, 2);
    assert_eq!(
        run(
            &f2,
            &[(&t3, ArrayD::<f64>::zeros(IxDyn(&[2, 3, 4])).into())]
        )
        .shape(),
        &[2, 12]
    );
    assert_eq!(run(&m.shape(), &ins()).to_i64_vec(), vec![2, 3]);
    let d = run(&m.dimshuffle(&[Some(1), None, Some(0)]), &ins());
    assert_eq!(d.shape(), &[3, 1, 2]);
    // Broadcast dims added around the kept ones (in order): the same elements, new shape.
    let d = run(&m.dimshuffle(&[None, Some(0), None, Some(1)]), &ins());
    assert_eq!(d.shape(), &[1, 2, 1, 3]);
    assert_eq!(d.to_f64_vec(), run(&m, &ins()).to_f64_vec());
    let d = run(&m.t().dimshuffle(&[Some(0), None, Some(1)]), &ins());
    assert_eq!(d.shape(), &[3, 1, 2]);
    assert_eq!(d.to_f64_vec(), vec![1.0, 4.0, 2.0, 5.0, 3.0, 6.0]);
    let r = T::drow("r");
    assert_eq!(
        run(
            &r.dimshuffle(&[Some(1)]),
            &[(&r, array![[1.0, 2.0]].into())]
        )
        .shape(),
        &[2]
    );
    assert!(
        m.dimshuffle(&[Some(1)]).check().is_err(),
        "dropping a non-broadcastable dim is an error"
    );
    let err = m.reshape(&[4, -1]).eval(&ins()).unwrap_err();
    assert!(err.to_string().contains("Reshape{2}"), "{err}");
}

#[test]
fn indexing() {
    let m = T::dmatrix("m");
    let x = T::dvector("x");
    let mv = || -> Value { array![[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]].into() };
    let xv = || -> Value { array![0.0, 1.0, 2.0, 3.0, 4.0].into() };
    assert_eq!(vals(&x.at(1), &[(&x, xv())]), vec![1.0]);
    assert_eq!(vals(&x.at(-1), &[(&x, xv())]), vec![4.0]);
    assert_eq!(
        vals(
            &x.get(&[T::Idx::range(Some(1), Some(3), None)]),
            &[(&x, xv())]
        ),
        vec![1.0, 2.0]
    );
    assert_eq!(
        vals(
            &x.get(&[T::Idx::range(None, None, Some(-2))]),
            &[(&x, xv())]
        ),
        vec![4.0, 2.0, 0.0]
    );
    assert_eq!(
        vals(
            &x.get(&[T::Idx::range(Some(-2), Some(100), None)]),
            &[(&x, xv())]
        ),
        vec![3.0, 4.0]
    );
    assert_eq!(
        vals(&m.get(&[T::Idx::at(1), T::Idx::all()]), &[(&m, mv())]),
        vec![4.0, 5.0, 6.0]
    );
    assert_eq!(
        vals(&m.get(&[T::Idx::all(), T::Idx::at(2)]), &[(&m, mv())]),
        vec![3.0, 6.0]
    );
    let i = T::lscalar("i");
    assert_eq!(
        vals(&x.get(&[T::Idx::at(&i)]), &[(&x, xv()), (&i, 3i64.into())]),
        vec![3.0]
    );
    let err = x.at(7).eval(&[(&x, xv())]).unwrap_err();
    assert!(
        matches!(err, Error::Index { .. }) && err.to_string().contains("out of bounds"),
        "{err}"
    );
    // Advanced: M[arange(n), y] picks one element per row.
    let y = T::lvector("y");
    let picked = m.get(&[T::Idx::array(&T::arange_to(2)), T::Idx::array(&y)]);
    assert_eq!(
        vals(&picked, &[(&m, mv()), (&y, array![2i64, 0].into())]),
        vec![3.0, 4.0]
    );
    let iv = T::lvector("iv");
    assert_eq!(
        vals(
            &x.get(&[T::Idx::array(&iv)]),
            &[(&x, xv()), (&iv, array![4i64, -1, 0].into())]
        ),
        vec![4.0, 4.0, 0.0]
    );
    let err = x
        .get(&[T::Idx::array(&iv)])
        .eval(&[(&x, xv()), (&iv, array![5i64].into())])
        .unwrap_err();
    assert!(err.to_string().contains("AdvancedSubtensor1"), "{err}");
}

#[test]
fn constructors_of_values() {
    let x = T::dvector("x");
    let xv = || -> Value { array![1.0, 2.0, 3.0].into() };
    assert_eq!(vals(&T::zeros_like(&x), &[(&x, xv())]), vec![0.0; 3]);
    assert_eq!(vals(&T::ones_like(&x), &[(&x, xv())]), vec![1.0; 3]);
    assert_eq!(vals(&T::fill(&x, 7.0), &[(&x, xv())]), vec![7.0; 3]);
    assert_eq!(vals(&T::arange(1, 10, 3), &[]), vec![1.0, 4.0, 7.0]);
    assert_eq!(
        vals(&T::arange(0.0, 1.0, 0.25), &[]),
        vec![0.0, 0.25, 0.5, 0.75]
    );
    assert_eq!(vals(&T::arange(5, 0, -2), &[]), vec![5.0, 3.0, 1.0]);
    let a = run(
        &T::alloc(2.5, vec![T::constant(2i64), T::constant(3i64)]),
        &[],
    );
    assert_eq!((a.shape().to_vec(), a.to_f64_vec()[0]), (vec![2, 3], 2.5));
    assert_eq!(
        run(&T::zeros(&[2, 2], DType::Int32), &[]).dtype(),
        DType::Int32
    );
    let y = T::dvector("y");
    let c = run(
        &T::concatenate(&[x.clone(), y.clone()], 0),
        &[(&x, xv()), (&y, array![4.0].into())],
    );
    assert_eq!(c.to_f64_vec(), vec![1.0, 2.0, 3.0, 4.0]);
    let s = run(&T::stack(&[x.clone(), x.clone()], 0), &[(&x, xv())]);
    assert_eq!(s.shape(), &[2, 3]);
    let s1 = run(&T::stack(&[x.clone(), x.clone()], 1), &[(&x, xv())]);
    assert_eq!(s1.shape(), &[3, 2]);
    let m = T::dmatrix("m");
    let err = T::concatenate(&[m.clone(), m.clone().t()], 0)
        .eval(&[(&m, array![[1.0, 2.0, 3.0]].into())])
        .unwrap_err();
    assert!(err.to_string().contains("Join"), "{err}");
}

#[test]
fn several_outputs_and_reuse() {
    let [x, y] = T::dvectors(["x", "y"]);
    let s = &x + &y;
    let f = function(&[&x, &y], &[&s, &(&s * 2.0), &x]).unwrap();
    let r = f
        .call(&[array![1.0, 2.0].into(), array![3.0, 4.0].into()])
        .unwrap();
    assert_eq!(r.len(), 3);
    assert_eq!(r[1].to_f64_vec(), vec![8.0, 12.0]);
    assert_eq!(r[2].to_f64_vec(), vec![1.0, 2.0]);
    // Called again with other values.
    let r = f
        .call(&[array![0.0, 0.0].into(), array![1.0, 1.0].into()])
        .unwrap();
    assert_eq!(r[0].to_f64_vec(), vec![1.0, 1.0]);
    // int64 data for a float64 input is a safe upcast and accepted.
    let r = f
        .call(&[array![1i64, 2].into(), array![3.0, 4.0].into()])
        .unwrap();
    assert_eq!(r[0].to_f64_vec(), vec![4.0, 6.0]);
}

/// A function can run on its own thread pool (FunctionOptions::threads), with the same results.
#[test]
fn per_function_thread_count() {
    let x = T::dvector("x");
    let y = T::nnet::softplus(&x).sum();
    let arg: Value = ndarray::Array1::linspace(-50.0, 50.0, 300_000).into();
    let plain = function(&[&x], &[&y])
        .unwrap()
        .call(std::slice::from_ref(&arg))
        .unwrap();
    for threads in [1, 2, 3] {
        let f = rheano::function_with(
            &[&x],
            &[&y],
            rheano::FunctionOptions {
                threads: Some(threads),
                ..Default::default()
            },
        )
        .unwrap();
        let r = f.call(std::slice::from_ref(&arg)).unwrap();
        let (a, b) = (r[0].to_f64_vec()[0], plain[0].to_f64_vec()[0]);
        assert!(
            (a - b).abs() <= 1e-12 * b.abs(),
            "{threads} threads: {a} vs {b}"
        );
    }
}

/// Large products split into bands of rows or columns across threads give the single-threaded
/// result, for every transpose and with an added term (Gemm, whose bands copy the term
/// themselves), in both float dtypes.
#[test]
fn products_split_across_threads_match() {
    let mk = |r: usize, c: usize, s: usize| {
        ArrayD::from_shape_fn(IxDyn(&[r, c]), |ix| {
            (((ix[0] * 31 + ix[1] * 17 + s) % 23) as f64 - 11.0) / 7.0
        })
    };
    // Wider than tall: bands of columns; taller than wide: bands of rows; ten columns: the
    // skinny kernels; k = 0: the added term alone.
    for (m, k, n) in [
        (150usize, 90usize, 170usize),
        (170, 90, 150),
        (170, 600, 10),
        (6, 0, 9),
    ] {
        for dt in [DType::Float64, DType::Float32] {
            for (ta, tb) in [(false, false), (true, false), (false, true), (true, true)] {
                let a = T::tensor(dt, &[false, false], "a");
                let b = T::tensor(dt, &[false, false], "b");
                let z = T::tensor(dt, &[false, false], "z");
                let (av, bv) = (
                    mk(if ta { k } else { m }, if ta { m } else { k }, 1),
                    mk(if tb { n } else { k }, if tb { k } else { n }, 2),
                );
                let zv = mk(m, n, 3);
                let lhs = if ta { a.t() } else { a.clone() };
                let rhs = if tb { b.t() } else { b.clone() };
                let out = &z - &(T::dot(&lhs, &rhs) * 0.5);
                let mut results = Vec::new();
                for threads in [1, 2, 3] {
                    let f = function_with(
                        &[&a, &b, &z],
                        &[&out],
                        FunctionOptions {
                            threads: Some(threads),
                            ..Default::default()
                        },
                    )
                    .unwrap();
                    let args = [
                        Value::from(av.clone()).cast(dt),
                        Value::from(bv.clone()).cast(dt),
                        Value::from(zv.clone()).cast(dt),
                    ];
                    results.push(f.call(&args).unwrap().remove(0).to_f64_vec());
                }
                let a2 = av.into_dimensionality::<ndarray::Ix2>().unwrap();
                let b2 = bv.into_dimensionality::<ndarray::Ix2>().unwrap();
                let a2 = if ta { a2.t().to_owned() } else { a2 };
                let b2 = if tb { b2.t().to_owned() } else { b2 };
                let want =
                    &zv.into_dimensionality::<ndarray::Ix2>().unwrap() - &(a2.dot(&b2) * 0.5);
                let tol = if dt == DType::Float64 { 1e-12 } else { 1e-3 };
                for r in &results {
                    for (g, w) in r.iter().zip(want.iter()) {
                        assert!(
                            (g - w).abs() <= tol * (1.0 + w.abs()),
                            "{dt} {ta} {tb}: {g} vs {w}"
                        );
                    }
                }
            }
        }
    }
}

/// A fused program with a one-element result (a step's `1/n`, a scalar schedule) runs on
/// scalars without the block machinery: the same values as the unfused graph, for 0-d and
/// 1×1 inputs, integer inputs cast as numpy does, and trap values.
#[test]
fn one_element_composites_match_the_unfused_graph() {
    let n = T::lscalar("n");
    let x = T::dscalar("x");
    let m = T::dmatrix("m");
    let out = T::inv(T::cast(&n, DType::Float64)) * &x + T::nnet::sigmoid(-&x);
    let out_m = T::nnet::softplus(&m * 2.0) - T::exp(&m);
    let fast = function(&[&n, &x, &m], &[&out, &out_m]).unwrap();
    let plain = rheano::function_with(
        &[&n, &x, &m],
        &[&out, &out_m],
        rheano::FunctionOptions {
            mode: rheano::Mode::None,
            ..Default::default()
        },
    )
    .unwrap();
    assert!(
        fast.debugprint().contains("Composite{"),
        "{}",
        fast.debugprint()
    );
    for (nv, xv) in [
        (64i64, 0.5),
        (29, -745.0),
        (3, 710.0),
        (1, f64::NAN),
        (7, f64::INFINITY),
    ] {
        let args = [
            Value::from(ArrayD::from_elem(IxDyn(&[]), nv)),
            Value::from(ArrayD::from_elem(IxDyn(&[]), xv)),
            Value::from(ArrayD::from_elem(IxDyn(&[1, 1]), xv / 4.0)),
        ];
        let (a, b) = (fast.call(&args).unwrap(), plain.call(&args).unwrap());
        for (va, vb) in a.iter().zip(&b) {
            assert_eq!(va.shape(), vb.shape());
            for (p, q) in va.to_f64_vec().iter().zip(vb.to_f64_vec()) {
                assert!(
                    p.to_bits() == q.to_bits() || (p.is_nan() && q.is_nan()),
                    "{p} vs {q} at n={nv}, x={xv}"
                );
            }
        }
    }
}
