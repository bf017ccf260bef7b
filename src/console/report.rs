//! The data subject's access report (inzageverzoek, AVG art. 15) as a citizen reads it: plain
//! Dutch, printable, and as a PDF printed by headless Chromium from the same HTML.

use std::time::Duration;

use chrono::{DateTime, Utc};

use super::html::{dutch_date, esc};
use crate::gateway::AccessReport;

/// How long the PDF printer may take before the request gives up.
const PDF_TIMEOUT: Duration = Duration::from_secs(30);

/// The categories of data in words a citizen understands.
fn category_nl(category: &str) -> &str {
    match category {
        "identificerend" => "uw naam, geboortedatum en adres",
        "bsn" => "uw burgerservicenummer",
        "bijzonder" => "gegevens over uw gezondheid (bijzondere persoonsgegevens)",
        "strafrechtelijk" => "justitiële gegevens (strafrechtelijke persoonsgegevens)",
        "overig" => "gegevens over uw situatie, zoals wonen, werk, schulden en gezin",
        other => other,
    }
}

/// Why the data was shared, in words a citizen understands.
fn purpose_nl(purpose: &str) -> &str {
    match purpose {
        "casusoverleg" => {
            "om samen met andere organisaties een plan van aanpak te maken en uit te voeren"
        }
        "procesregie" => "om de samenwerking rond uw situatie te organiseren",
        "nazorg" => "voor nazorg na detentie (zoals wonen, inkomen en zorg)",
        "bevraging" => "om na te gaan of u al bekend bent bij het Zorg- en Veiligheidshuis",
        "spoed" => {
            "vanwege acuut gevaar (spoed), achteraf gecontroleerd door de privacyfunctionaris"
        }
        other => other,
    }
}

/// What the event disclosed, when it is not the categories themselves.
fn event_nl(event: &str) -> Option<&'static str> {
    match event {
        "lookup" => Some("alleen of u bekend bent, en bij wie"),
        _ => None,
    }
}

/// Everything the report page needs besides the report itself.
pub struct ReportContext<'a> {
    /// The office that answers the request (the Veiligheidshuis, or the partner).
    pub organisation: &'a str,
    /// Days a case's data is kept after the case is closed (the convenant's retention).
    pub retention_days: Option<i64>,
    /// The last three digits of the BSN, so the reader knows whose report it is.
    pub bsn_tail: &'a str,
    pub drawn_up: DateTime<Utc>,
}

/// The report as a standalone, printable HTML document (also the PDF's source).
pub fn document(report: &AccessReport, ctx: &ReportContext<'_>) -> String {
    let retention = match ctx.retention_days {
        Some(days) => format!(
            "Gegevens in een zaak worden bewaard tot {} na het afsluiten van de zaak en daarna \
             vernietigd. Het logboek van verstrekkingen bewaart alleen een versleutelde \
             verwijzing naar u, nooit uw naam of burgerservicenummer.",
            if days % 365 == 0 {
                format!("{} jaar", days / 365)
            } else {
                format!("{days} dagen")
            },
        ),
        None => "Voor gegevens in een zaak is geen bewaartermijn vastgelegd.".into(),
    };
    let mut rows = String::new();
    for line in &report.disclosures {
        let when = DateTime::parse_from_rfc3339(&line.time)
            .map(|t| dutch_date(t.with_timezone(&Utc)))
            .unwrap_or_else(|_| line.time.clone());
        let what = match event_nl(line.event.as_str()) {
            Some(text) => text.to_string(),
            None if line.categories.is_empty() => "geen gegevens".into(),
            None => line
                .categories
                .iter()
                .map(|c| category_nl(c))
                .collect::<Vec<_>>()
                .join("; "),
        };
        let source = if line.sources.is_empty() {
            "het Zorg- en Veiligheidshuis".to_string()
        } else {
            line.sources.join(", ")
        };
        let ground = if line.grounds.is_empty() {
            "het convenant van het Zorg- en Veiligheidshuis".to_string()
        } else {
            line.grounds
                .iter()
                .map(|g| match g.split_once(": ") {
                    Some((category, text)) => format!("{} — {text}", category_nl(category)),
                    None => g.clone(),
                })
                .collect::<Vec<_>>()
                .join("; ")
        };
        rows.push_str(&format!(
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            esc(&when),
            esc(&line.organisation),
            esc(&what),
            esc(purpose_nl(&line.purpose)),
            esc(&ground),
            esc(&source),
        ));
    }
    let table = if report.disclosures.is_empty() {
        "<p>Er zijn via het Zorg- en Veiligheidshuis geen gegevens over u aan andere \
         organisaties verstrekt.</p>"
            .to_string()
    } else {
        format!(
            "<table><thead><tr><th scope=\"col\">Datum</th><th scope=\"col\">Ontvanger</th>\
             <th scope=\"col\">Welke gegevens</th><th scope=\"col\">Waarom</th>\
             <th scope=\"col\">Op grond van</th><th scope=\"col\">Afkomstig van</th></tr></thead>\
             <tbody>{rows}</tbody></table>"
        )
    };
    let held_back = if report.held_back == Some(true) {
        "<p><strong>Let op:</strong> een deel van de verstrekkingen kan op dit moment niet \
         worden getoond, omdat een lopend onderzoek dat vereist (artikel 41 UAVG). U kunt dit \
         overzicht later opnieuw aanvragen.</p>"
    } else {
        ""
    };
    format!(
        "<!DOCTYPE html><html lang=\"nl\"><head><meta charset=\"utf-8\">\
         <title>Inzage in de verstrekking van uw gegevens</title><style>\
         body{{font-family:system-ui,'DejaVu Sans',sans-serif;color:#1b1b1b;line-height:1.5;max-width:60rem;margin:2rem auto;padding:0 1rem}}\
         table{{border-collapse:collapse;width:100%;font-size:.9rem}}th,td{{text-align:left;padding:.35rem .5rem;border-bottom:1px solid #999;vertical-align:top}}\
         th{{background:#eef2f7}}h1{{font-size:1.5rem}}h2{{font-size:1.15rem;margin-top:1.5rem}}\
         @media print{{body{{margin:0}}a{{color:inherit}}}}</style></head><body>\
         <h1>Inzage in de verstrekking van uw gegevens</h1>\
         <p>Opgesteld op {drawn} door {org}, voor de persoon met het burgerservicenummer dat \
         eindigt op {tail}.</p>\
         <p>U heeft gevraagd welke organisaties via het Zorg- en Veiligheidshuis gegevens over u \
         hebben ontvangen (artikel 15 van de Algemene verordening gegevensbescherming, AVG). \
         Hieronder staat elke keer dat dat gebeurde: wanneer, aan welke organisatie, welke soort \
         gegevens, waarom, op welke wettelijke grond en van welke organisatie de gegevens \
         afkomstig waren. Verzoeken die zijn geweigerd staan er niet in: daarbij is niets \
         verstrekt.</p>{held_back}\
         <h2>Verstrekkingen</h2>{table}\
         <h2>Hoe lang worden uw gegevens bewaard?</h2><p>{retention}</p>\
         <h2>Uw rechten</h2><ul>\
         <li>U mag onjuiste gegevens laten verbeteren of aanvullen (artikel 16 AVG). De organisatie \
         die de gegevens aanleverde verbetert ze en laat het iedere ontvanger weten.</li>\
         <li>U mag vragen gegevens te wissen of het gebruik ervan te beperken (artikelen 17 en 18 AVG), \
         en bezwaar maken tegen het gebruik (artikel 21 AVG).</li>\
         <li>U mag een klacht indienen bij de Autoriteit Persoonsgegevens \
         (autoriteitpersoonsgegevens.nl).</li></ul>\
         <h2>Contact</h2><p>Met vragen over dit overzicht of over uw rechten kunt u terecht bij de \
         functionaris gegevensbescherming van {org}. Vermeld daarbij de datum van dit overzicht.</p>\
         </body></html>",
        drawn = esc(&dutch_date(ctx.drawn_up)),
        org = esc(ctx.organisation),
        tail = esc(ctx.bsn_tail),
    )
}

/// Why no PDF could be made.
#[derive(Debug, thiserror::Error)]
pub enum PdfError {
    #[error("could not prepare the printer's folder: {0}")]
    Io(#[from] std::io::Error),
    #[error("could not start {printer}: {source}")]
    Start {
        printer: String,
        source: std::io::Error,
    },
    #[error("the printer took longer than {0:?}")]
    Timeout(Duration),
    #[error("the printer failed ({0})")]
    Failed(String),
}

/// Prints `html` to PDF with headless Chromium (`printer`): the HTML goes into a private
/// scratch folder that is removed afterwards, so no personal data stays behind.
pub async fn print_pdf(printer: &str, html: &str) -> Result<Vec<u8>, PdfError> {
    let dir = tempfile::tempdir()?;
    let page = dir.path().join("inzage.html");
    let pdf = dir.path().join("inzage.pdf");
    tokio::fs::write(&page, html).await?;
    let mut command = tokio::process::Command::new(printer);
    command
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--disable-extensions",
            "--no-pdf-header-footer",
        ])
        .arg(format!(
            "--user-data-dir={}",
            dir.path().join("profile").display()
        ))
        .arg(format!("--print-to-pdf={}", pdf.display()))
        .arg(format!("file://{}", page.display()))
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .kill_on_drop(true);
    let child = command.spawn().map_err(|source| PdfError::Start {
        printer: printer.to_string(),
        source,
    })?;
    let output = tokio::time::timeout(PDF_TIMEOUT, child.wait_with_output())
        .await
        .map_err(|_| PdfError::Timeout(PDF_TIMEOUT))??;
    let bytes = tokio::fs::read(&pdf).await.unwrap_or_default();
    if !output.status.success() || !bytes.starts_with(b"%PDF") {
        let stderr = String::from_utf8_lossy(&output.stderr);
        let last = stderr.lines().last().unwrap_or("no output").to_string();
        return Err(PdfError::Failed(format!("{}: {last}", output.status)));
    }
    Ok(bytes)
}
