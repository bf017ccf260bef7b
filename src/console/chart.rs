//! The overview's chart: requests per day, stacked by outcome, drawn on the server as SVG by
//! the plotters crate (axes, scale and labels are the crate's; no script in the browser).

use chrono::Datelike;
use plotters::prelude::*;

use crate::disclosure::stats::DayCount;

/// Outcome colours with at least 4.5:1 contrast on white, in the order allowed, partial, denied.
pub const COLOURS: [(&str, RGBColor); 3] = [
    ("toegestaan", RGBColor(0x2e, 0x7d, 0x32)),
    ("deels achtergehouden", RGBColor(0x9a, 0x5b, 0x00)),
    ("geweigerd", RGBColor(0xa4, 0x00, 0x1d)),
];

const SHORT_MONTHS: [&str; 12] = [
    "jan", "feb", "mrt", "apr", "mei", "jun", "jul", "aug", "sep", "okt", "nov", "dec",
];

/// The SVG of the stacked bar chart, or an error text when drawing failed (the page then shows
/// the table alone).
pub fn requests_per_day(days: &[DayCount]) -> Result<String, String> {
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (760, 260)).into_drawing_area();
        root.fill(&WHITE).map_err(|e| e.to_string())?;
        let max = days.iter().map(DayCount::total).max().unwrap_or(0).max(4);
        let n = u32::try_from(days.len()).unwrap_or(u32::MAX);
        let mut chart = ChartBuilder::on(&root)
            .margin(12)
            .x_label_area_size(30)
            .y_label_area_size(48)
            .build_cartesian_2d(0u32..n, 0i64..(max + max / 8 + 1))
            .map_err(|e| e.to_string())?;
        let label = |i: &u32| {
            days.get(*i as usize)
                .map(|d| {
                    let month = SHORT_MONTHS
                        .get(d.day.month0() as usize)
                        .copied()
                        .unwrap_or_default();
                    format!("{} {month}", d.day.day())
                })
                .unwrap_or_default()
        };
        chart
            .configure_mesh()
            .disable_x_mesh()
            .x_labels(8)
            .x_label_formatter(&label)
            .y_labels(6)
            .y_desc("verzoeken")
            .label_style(
                ("sans-serif", 13)
                    .into_font()
                    .color(&RGBColor(0x1b, 0x1b, 0x1b)),
            )
            .light_line_style(RGBColor(0xe6, 0xe6, 0xe6))
            .draw()
            .map_err(|e| e.to_string())?;
        let bars = days.iter().enumerate().flat_map(|(i, d)| {
            let x = u32::try_from(i).unwrap_or(u32::MAX);
            let mut base = 0i64;
            [d.allowed, d.partial, d.denied]
                .into_iter()
                .zip(COLOURS)
                .filter(|(count, _)| *count > 0)
                .map(move |(count, (_, colour))| {
                    let mut bar =
                        Rectangle::new([(x, base), (x + 1, base + count)], colour.filled());
                    bar.set_margin(0, 0, 2, 2);
                    base += count;
                    bar
                })
                .collect::<Vec<_>>()
        });
        chart.draw_series(bars).map_err(|e| e.to_string())?;
        root.present().map_err(|e| e.to_string())?;
    }
    Ok(svg)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::NaiveDate;

    #[test]
    fn draws_one_bar_segment_per_outcome_present() {
        let day = |d: u32, allowed, partial, denied| DayCount {
            day: NaiveDate::from_ymd_opt(2026, 12, d).expect("date"),
            allowed,
            partial,
            denied,
        };
        let svg =
            requests_per_day(&[day(3, 5, 0, 1), day(4, 0, 0, 0), day(5, 2, 3, 0)]).expect("svg");
        assert!(svg.starts_with("<svg"), "{svg}");
        // Four coloured segments: green (5), red (1), green (2), amber (3).
        let filled = |hex: &str| svg.matches(&format!("fill=\"#{hex}\"")).count();
        assert_eq!(filled("2E7D32"), 2, "{svg}");
        assert_eq!(filled("9A5B00"), 1);
        assert_eq!(filled("A4001D"), 1);
        assert!(svg.contains("3 dec") && svg.contains("verzoeken"), "{svg}");
    }

    #[test]
    fn an_empty_period_still_draws_axes() {
        let svg = requests_per_day(&[]).expect("svg");
        assert!(svg.contains("verzoeken"));
    }
}
