//! PNG figures: loss curves, digits beside their reconstructions, the sigmoid family.

use plotters::prelude::*;
use plotters::style::{register_font, FontStyle};
use std::error::Error;

static FONT: &[u8] = include_bytes!("../data/DejaVuSansMono.ttf");

fn fonts() {
    // The font is embedded: the plots need nothing installed on the machine.
    let _ = register_font("sans-serif", FontStyle::Normal, FONT);
}

/// A line chart of the loss per step.
pub fn loss_curve(path: &str, title: &str, losses: &[f64]) -> Result<(), Box<dyn Error>> {
    fonts();
    let root = BitMapBackend::new(path, (800, 500)).into_drawing_area();
    root.fill(&WHITE)?;
    let max = losses.iter().cloned().fold(f64::MIN, f64::max).max(1e-9);
    let mut chart = ChartBuilder::on(&root)
        .caption(title, ("sans-serif", 22))
        .margin(15)
        .x_label_area_size(40)
        .y_label_area_size(60)
        .build_cartesian_2d(0..losses.len(), 0.0..max * 1.05)?;
    chart
        .configure_mesh()
        .x_desc("step")
        .y_desc("loss")
        .draw()?;
    chart.draw_series(LineSeries::new(
        losses.iter().enumerate().map(|(i, &l)| (i, l)),
        &BLUE,
    ))?;
    root.present()?;
    Ok(())
}

/// Rows of 8×8 digits (left) beside their reconstructions (right).
pub fn digits_pairs(
    path: &str,
    originals: &[Vec<f64>],
    recons: &[Vec<f64>],
) -> Result<(), Box<dyn Error>> {
    fonts();
    let cell = 12i32;
    let n = originals.len() as i32;
    let (w, h) = (
        (8 * cell * 2 + 3 * cell) as u32 * 2,
        (n * (8 * cell + cell) + 40) as u32,
    );
    let root = BitMapBackend::new(path, (w, h)).into_drawing_area();
    root.fill(&WHITE)?;
    root.draw(&Text::new(
        "original   reconstruction",
        (10, 8),
        ("sans-serif", 18),
    ))?;
    for (k, (o, r)) in originals.iter().zip(recons).enumerate() {
        let top = 36 + k as i32 * (8 * cell + cell);
        for (img, left) in [(o, 10), (r, 10 + 8 * cell + 2 * cell)] {
            for (p, &px) in img.iter().enumerate().take(64) {
                let v = (255.0 * (1.0 - px.clamp(0.0, 1.0))) as u8;
                let (x, y) = (left + (p as i32 % 8) * cell, top + (p as i32 / 8) * cell);
                root.draw(&Rectangle::new(
                    [(x, y), (x + cell, y + cell)],
                    RGBColor(v, v, v).filled(),
                ))?;
            }
        }
    }
    root.present()?;
    Ok(())
}

/// Two panels: several curves over x, and their errors against a reference curve.
pub fn curves_and_errors(
    path: &str,
    xs: &[f64],
    curves: &[(&str, Vec<f64>)],
    errors: &[(&str, Vec<f64>)],
) -> Result<(), Box<dyn Error>> {
    fonts();
    let root = BitMapBackend::new(path, (900, 800)).into_drawing_area();
    root.fill(&WHITE)?;
    let (top, bottom) = root.split_vertically(420);
    let colors = [BLUE, RED, GREEN, MAGENTA];
    let (x0, x1) = (xs[0], xs[xs.len() - 1]);
    let mut c = ChartBuilder::on(&top)
        .caption(
            "sigmoid, ultra_fast_sigmoid, hard_sigmoid",
            ("sans-serif", 22),
        )
        .margin(15)
        .x_label_area_size(35)
        .y_label_area_size(50)
        .build_cartesian_2d(x0..x1, -0.05..1.05)?;
    c.configure_mesh().draw()?;
    for (k, (name, ys)) in curves.iter().enumerate() {
        let col = colors[k % colors.len()];
        c.draw_series(LineSeries::new(
            xs.iter().copied().zip(ys.iter().copied()),
            col,
        ))?
        .label(*name)
        .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], col));
    }
    c.configure_series_labels()
        .background_style(WHITE.mix(0.8))
        .border_style(BLACK)
        .draw()?;
    let emax = errors
        .iter()
        .flat_map(|(_, e)| e.iter().cloned())
        .fold(0.0, f64::max)
        * 1.1;
    let mut c = ChartBuilder::on(&bottom)
        .caption("absolute error against sigmoid", ("sans-serif", 20))
        .margin(15)
        .x_label_area_size(35)
        .y_label_area_size(60)
        .build_cartesian_2d(x0..x1, 0.0..emax.max(1e-9))?;
    c.configure_mesh().x_desc("x").draw()?;
    for (k, (name, ys)) in errors.iter().enumerate() {
        let col = colors[(k + 1) % colors.len()];
        c.draw_series(LineSeries::new(
            xs.iter().copied().zip(ys.iter().copied()),
            col,
        ))?
        .label(*name)
        .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], col));
    }
    c.configure_series_labels()
        .background_style(WHITE.mix(0.8))
        .border_style(BLACK)
        .draw()?;
    root.present()?;
    Ok(())
}
