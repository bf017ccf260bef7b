//! Server-rendered HTML of the console: one calm layout, Dutch throughout, every essential
//! without JavaScript. Everything that comes from data goes through [`esc`].

use chrono::{DateTime, Datelike, Utc};

/// Escapes text for HTML element content and quoted attribute values.
pub fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

const MONTHS: [&str; 12] = [
    "januari",
    "februari",
    "maart",
    "april",
    "mei",
    "juni",
    "juli",
    "augustus",
    "september",
    "oktober",
    "november",
    "december",
];

/// A date as Dutch readers write it: `4 december 2026`.
pub fn dutch_date(t: DateTime<Utc>) -> String {
    let month = MONTHS.get(t.month0() as usize).copied().unwrap_or_default();
    format!("{} {} {}", t.day(), month, t.year())
}

/// A moment: `4 december 2026, 14:05 UTC`.
pub fn dutch_time(t: DateTime<Utc>) -> String {
    format!("{}, {} UTC", dutch_date(t), t.format("%H:%M"))
}

/// Styles: system fonts, contrast of at least 4.5:1 for text, a visible focus ring.
const STYLE: &str = "\
body{font-family:system-ui,-apple-system,'Segoe UI',Roboto,sans-serif;margin:0;color:#1b1b1b;background:#fafafa;line-height:1.5}\
header{background:#154273;color:#fff;padding:.75rem 1.5rem;display:flex;justify-content:space-between;align-items:center;flex-wrap:wrap;gap:1rem}\
header a,header button{color:#fff}\
nav a{margin-right:1rem}nav a[aria-current]{font-weight:700;text-decoration-thickness:3px}\
main{max-width:72rem;margin:0 auto;padding:1.5rem}\
table{border-collapse:collapse;width:100%;background:#fff}\
th,td{text-align:left;padding:.4rem .6rem;border-bottom:1px solid #ccc;vertical-align:top}\
th{background:#eef2f7}\
label{display:block;font-weight:600;margin-top:.5rem}\
input,select,textarea,button{font:inherit;padding:.35rem .5rem}\
textarea{width:100%;max-width:40rem}\
button{background:#154273;color:#fff;border:0;border-radius:3px;cursor:pointer;margin-top:.75rem}\
header button{background:transparent;border:1px solid #fff;margin:0}\
a:focus,button:focus,input:focus,select:focus,textarea:focus{outline:3px solid #ffb612;outline-offset:2px}\
.fout{background:#fde8e8;border-left:4px solid #a4001d;padding:.5rem 1rem}\
.filters{display:flex;flex-wrap:wrap;gap:0 1rem;align-items:flex-end}\
.muted{color:#555}\
dl{display:grid;grid-template-columns:max-content 1fr;gap:.3rem 1.5rem;background:#fff;border:1px solid #ccc;padding:.75rem 1rem}dt{font-weight:600}dd{margin:0}td.tijd{white-space:nowrap}\
progress{width:100%;max-width:40rem;height:1.25rem}.kaarten{display:grid;grid-template-columns:repeat(auto-fit,minmax(14rem,1fr));gap:1rem;margin:1rem 0}.kaart{background:#fff;border:1px solid #ccc;border-radius:4px;padding:.75rem 1rem}.kaart h2{font-size:1rem;margin:0 0 .25rem}.groot{font-size:1.6rem;font-weight:700}figure{margin:1rem 0;background:#fff;border:1px solid #ccc;padding:.5rem}figure svg{max-width:100%;height:auto}.legenda span{display:inline-block;width:.9rem;height:.9rem;margin:0 .3rem 0 1rem;vertical-align:middle}\
.skip{position:absolute;left:-999px}.skip:focus{left:1rem;top:1rem;background:#fff;color:#154273;padding:.5rem}";

/// The signed-in officer as the header shows it.
pub struct Officer<'a> {
    pub organisation: &'a str,
    pub sub: &'a str,
    pub csrf: &'a str,
}

/// The console's screens, in the order of the menu: (path, label).
const MENU: [(&str, &str); 5] = [
    ("/console/overzicht", "Overzicht"),
    ("/console/verstrekkingen", "Verstrekkingen"),
    ("/console/inzageverzoek", "Inzageverzoek"),
    ("/console/signalen", "Signalen"),
    ("/console/integriteit", "Integriteit"),
];

/// A whole page: title, optional signed-in header with navigation and sign-out, and the body.
pub fn page(title: &str, officer: Option<&Officer<'_>>, body: &str) -> String {
    page_with(title, officer, body, None)
}

/// [`page`] that reloads itself every `refresh_secs` (progress without JavaScript).
pub fn page_with(
    title: &str,
    officer: Option<&Officer<'_>>,
    body: &str,
    refresh_secs: Option<u32>,
) -> String {
    let header = match officer {
        Some(o) => {
            let nav: String = MENU
                .iter()
                .map(|(href, label)| {
                    let current = if *label == title {
                        " aria-current=\"page\""
                    } else {
                        ""
                    };
                    format!("<a href=\"{href}\"{current}>{label}</a>")
                })
                .collect();
            format!(
                "<header><div><strong>vhgate</strong> · Privacyconsole</div>\
                 <nav aria-label=\"Hoofdmenu\">{nav}</nav>\
                 <form method=\"post\" action=\"/console/afmelden\">\
                 <span>{} ({})</span> \
                 <input type=\"hidden\" name=\"csrf\" value=\"{}\">\
                 <button type=\"submit\">Afmelden</button></form></header>",
                esc(o.sub),
                esc(o.organisation),
                esc(o.csrf)
            )
        }
        None => "<header><div><strong>vhgate</strong> · Privacyconsole</div></header>".into(),
    };
    let refresh = refresh_secs
        .map(|s| format!("<meta http-equiv=\"refresh\" content=\"{s}\">"))
        .unwrap_or_default();
    format!(
        "<!DOCTYPE html><html lang=\"nl\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">{refresh}\
         <title>{} · vhgate privacyconsole</title><style>{STYLE}</style></head>\
         <body><a class=\"skip\" href=\"#inhoud\">Naar de inhoud</a>{header}\
         <main id=\"inhoud\"><h1>{}</h1>{body}</main></body></html>",
        esc(title),
        esc(title)
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn escapes_markup_and_quotes() {
        assert_eq!(
            esc("<a href=\"x\">'&'</a>"),
            "&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;"
        );
    }

    #[test]
    fn dates_read_as_dutch() {
        let t = Utc
            .with_ymd_and_hms(2026, 12, 4, 9, 5, 0)
            .single()
            .expect("date");
        assert_eq!(dutch_date(t), "4 december 2026");
        assert_eq!(dutch_time(t), "4 december 2026, 09:05 UTC");
        let t = Utc
            .with_ymd_and_hms(2027, 3, 1, 0, 0, 0)
            .single()
            .expect("date");
        assert_eq!(dutch_date(t), "1 maart 2027");
    }
}
