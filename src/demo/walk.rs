//! The demo walk-through: one family case from aanmelding to closing, step by step, as data.
//! `vhgate demo` renders it to copy-paste curl commands (mTLS with the dev certificates, one
//! token per partner and role, case ids captured in shell variables with sed), and
//! tests/demo.rs runs the same steps against a real server and checks every answer's status.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::Path;

use chrono::{Duration, NaiveDate};
use serde_json::json;

use crate::pki::demo_partner;

/// A shell variable that a step fills from its answer: the value of the last `"key":"..."`
/// before the answer's first `}` (the sed expression of [`capture_sed`]; see [`capture`]).
#[derive(Clone, Debug)]
pub struct Capture {
    pub var: &'static str,
    pub key: &'static str,
}

/// One request of the walk-through.
#[derive(Clone, Debug)]
pub struct WalkStep {
    /// A short stable name (for tests).
    pub key: &'static str,
    /// The part of the life cycle the step belongs to (a heading in the output).
    pub section: &'static str,
    /// Demo partner (file name in the dev PKI) that sends the request.
    pub partner: &'static str,
    pub role: &'static str,
    pub purpose: &'static str,
    pub method: &'static str,
    /// Path with shell variables (`$CASE`, `$PERSON`, ...) filled by earlier captures.
    pub path: String,
    /// JSON body; string values may be shell variables (`"$PERSON"`).
    pub body: Option<String>,
    pub idempotency_key: Option<&'static str>,
    /// What the step shows (one comment line).
    pub shows: String,
    /// The status the gateway answers with.
    pub expect: u16,
    pub captures: Vec<Capture>,
}

/// The shell variables the walk-through fills, in the order they are captured.
pub const VARIABLES: &[&str] = &["CASE", "PERSON", "ITEM", "AFSPRAAK"];

fn oin(partner: &str) -> &'static str {
    demo_partner(partner).map(|p| p.oin).unwrap_or("")
}

/// Builds a step without body or captures, expecting 200.
fn step(
    key: &'static str,
    section: &'static str,
    (partner, role, purpose): (&'static str, &'static str, &'static str),
    method: &'static str,
    path: &str,
    shows: &str,
) -> WalkStep {
    WalkStep {
        key,
        section,
        partner,
        role,
        purpose,
        method,
        path: path.to_string(),
        body: None,
        idempotency_key: None,
        shows: shows.to_string(),
        expect: 200,
        captures: vec![],
    }
}

impl WalkStep {
    fn body(mut self, body: serde_json::Value) -> Self {
        self.body = Some(body.to_string());
        self
    }
    fn expect(mut self, status: u16) -> Self {
        self.expect = status;
        self
    }
    fn capture(mut self, var: &'static str, key: &'static str) -> Self {
        self.captures.push(Capture { var, key });
        self
    }

    /// The shell variables the step's path and body use.
    pub fn uses(&self) -> Vec<&'static str> {
        let text = format!("{} {}", self.path, self.body.as_deref().unwrap_or(""));
        VARIABLES
            .iter()
            .copied()
            .filter(|v| text.contains(&format!("${v}")))
            .collect()
    }
}

const AANMELDING: &str = "Aanmelding en screening";
const MDO: &str = "MDO: de tafel";
const INFORMATIE: &str = "Informatie delen";
const PLAN: &str = "Plan van aanpak";
const AFSLUITING: &str = "Afsluiting";

/// The walk-through of the family case in Heesch (invented persons), with due dates from
/// `today`.
pub fn walkthrough(today: NaiveDate) -> Vec<WalkStep> {
    let vt = ("veilig-thuis", "professional", "casusoverleg");
    let vhh = ("veiligheidshuis", "procesregisseur", "procesregie");
    let politie = ("politie", "professional", "casusoverleg");
    let gemeente = ("gemeente", "professional", "casusoverleg");
    let regisseur = ("gemeente", "casusregisseur", "casusoverleg");
    let rvdk = ("rvdk", "professional", "casusoverleg");
    let woning = ("woningcorporatie", "professional", "casusoverleg");
    let due = |days: i64| {
        (today + Duration::days(days))
            .format("%Y-%m-%d")
            .to_string()
    };
    let case = "/v1/cases/$CASE";
    let registration = json!({
        "kind": "systeem",
        "region": "oost-brabant",
        "title": "Huiselijk geweld gezin Heesch",
        "reason": "Herhaalde meldingen van huiselijk geweld, kinderen getuige; vrijwillige hulp is gestopt.",
        "persons": [
            {"bsn": "999990251", "relation": "ouder"},
            {"bsn": "999990263", "relation": "ouder"},
            {"naam": "Lotte Peters", "geboortedatum": "2017-06-02", "relation": "kind"}
        ],
        "problems": [
            {"leefgebied": "veiligheid", "leads_to": ["crimineel"]},
            {"leefgebied": "gezin_relaties", "leads_to": ["afglijden"]},
            {"leefgebied": "psychische_gezondheid", "leads_to": ["afglijden"]}
        ],
        "chains": {"needed": ["strafrecht", "zorg", "civiel"], "dwang_en_drang": true},
        "system": {"family": true}
    });
    let mut register = step(
        "register",
        AANMELDING,
        vt,
        "POST",
        "/v1/cases",
        "registers the family (aanmelding); repeat it: same Idempotency-Key, same case",
    )
    .body(registration)
    .expect(201)
    .capture("CASE", "case_id")
    .capture("PERSON", "person_id");
    register.idempotency_key = Some("demo-gezin-heesch-1");
    let accept = |key, who| {
        step(
            key,
            MDO,
            who,
            "POST",
            &format!("{case}/invitations/accept"),
            "accepts the invitation and joins the table",
        )
    };
    let info = |key, who, ground: &str, leefgebied: &str, category: &str, content: &str| {
        step(
            key,
            INFORMATIE,
            who,
            "POST",
            &format!("{case}/information"),
            &format!("contributes an item about the mother ({category}, {leefgebied})"),
        )
        .body(json!({
            "person_id": "$PERSON",
            "leefgebied": leefgebied,
            "category": category,
            "content": content,
            "ground": ground
        }))
        .expect(201)
    };
    vec![
        register,
        step("read_registration", AANMELDING, vt, "GET", &format!("{case}/registration"),
            "reads its own registration back"),
        step("screening", AANMELDING, vhh, "GET", &format!("{case}/screening"),
            "reads the screening advice, with reasons per criterion"),
        step("decide", AANMELDING, vhh, "POST", &format!("{case}/screening/decision"),
            "decides: a Veiligheidshuis case (phase mdo)")
            .body(json!({"decision": "veiligheidshuis_case",
                "reason": "Voldoet aan de complexiteitscriteria; strafrecht, zorg en civiel nodig."})),
        step("invite", MDO, vhh, "POST", &format!("{case}/invitations"),
            "invites Veilig Thuis, Politie, Gemeente and the Raad voor de Kinderbescherming")
            .body(json!({"oins": [oin("veilig-thuis"), oin("politie"), oin("gemeente"), oin("rvdk")]})),
        step("refused_not_invited", MDO, woning, "POST", &format!("{case}/invitations/accept"),
            "REFUSED: not invited, so it cannot join the table")
            .expect(403),
        accept("accept_veilig_thuis", vt),
        accept("accept_politie", politie),
        accept("accept_gemeente", gemeente),
        accept("accept_rvdk", rvdk),
        step("casusregisseur", MDO, vhh, "PUT", &format!("{case}/casusregisseur"),
            "names the Gemeente casusregisseur (one family, one plan, one director)")
            .body(json!({"oin": oin("gemeente")})),
        step("refused_not_at_table", MDO, woning, "GET", &format!("{case}/persons/$PERSON"),
            "REFUSED: not at the table, so it reads nobody in this case")
            .expect(403),
        info("contribute_overig", vt, "convenant_zvh", "veiligheid", "overig",
            "Melding huiselijk geweld; moeder en kinderen tijdelijk bij familie in Oss.")
            .capture("ITEM", "item_id"),
        info("contribute_bijzonder", vt, "wmo_veilig_thuis", "psychische_gezondheid", "bijzonder",
            "Moeder toont traumaklachten; verwijzing naar GGZ besproken."),
        info("contribute_strafrechtelijk", politie, "wpg_politie", "veiligheid", "strafrechtelijk",
            "Aangifte van mishandeling door moeder opgenomen; vader is verdachte."),
        step("read_person_withheld", INFORMATIE, gemeente, "GET", &format!("{case}/persons/$PERSON"),
            "reads the mother: the health and criminal-law items are withheld; the answer names the categories the gemeente never sees, not the items (the log keeps each with its reason)"),
        step("afspraak_rvdk", PLAN, regisseur, "POST", &format!("{case}/afspraken"),
            "records an afspraak for the Raad in the plan van aanpak")
            .body(json!({"partner_oin": oin("rvdk"),
                "action": "Raadsonderzoek naar een beschermingsmaatregel afronden",
                "due_date": due(42)}))
            .expect(201)
            .capture("AFSPRAAK", "id"),
        step("afspraak_veilig_thuis", PLAN, regisseur, "POST", &format!("{case}/afspraken"),
            "records one for Veilig Thuis")
            .body(json!({"partner_oin": oin("veilig-thuis"),
                "action": "Veiligheidsplan met moeder opstellen", "due_date": due(14)}))
            .expect(201),
        step("afspraken", PLAN, regisseur, "GET", &format!("{case}/afspraken"),
            "reads the plan van aanpak: who does what, by when"),
        step("afspraak_gestagneerd", PLAN, rvdk, "PATCH", &format!("{case}/afspraken/$AFSPRAAK"),
            "reports its afspraak as gestagneerd, with a note")
            .body(json!({"status": "gestagneerd",
                "note": "Vader werkt niet mee aan het raadsonderzoek; twee gesprekken afgezegd."})),
        step("attention", PLAN, vhh, "GET", &format!("{case}/attention"),
            "reads the attention list: the stagnated afspraak is flagged"),
        step("escalation", PLAN, vhh, "POST", &format!("{case}/escalation"),
            "escalates (op-schalen) to AVE level 3")
            .body(json!({"level": 3,
                "reason": "Afspraak gestagneerd; domeinoverstijgende aanpak nodig."})),
        step("correction", PLAN, vt, "POST", &format!("{case}/information/$ITEM/correction"),
            "corrects its first item; the answer lists who received the old version")
            .body(json!({"content": "Melding huiselijk geweld; moeder en kinderen tijdelijk bij familie in Uden.",
                "reason": "Verblijfplaats verkeerd overgenomen."})),
        step("close", AFSLUITING, regisseur, "POST", &format!("{case}/close"),
            "closes the case: person-level sharing ends for everyone")
            .body(json!({"outcome": "plan_uitgevoerd",
                "reason": "Afspraken uitgevoerd; afgeschaald naar het wijkteam."})),
        step("refused_closed", AFSLUITING, gemeente, "GET", &format!("{case}/persons/$PERSON"),
            "REFUSED: the case is closed, so it no longer reads the mother")
            .expect(403),
        step("own_contributions", AFSLUITING, vt, "GET", &format!("{case}/contributions"),
            "reads back what it contributed, also after closing"),
        step("read_registration_closed", AFSLUITING, vt, "GET", &format!("{case}/registration"),
            "reads its registration back after closing"),
    ]
}

/// The token variable of a partner and role, e.g. `TOKEN_VEILIG_THUIS_PROFESSIONAL`.
pub fn token_var(partner: &str, role: &str) -> String {
    format!("TOKEN_{partner}_{role}")
        .to_uppercase()
        .replace('-', "_")
}

/// The sed command that prints the value of the last `"key":"..."` before the first `}`.
pub fn capture_sed(key: &str) -> String {
    format!(r#"sed -n 's/^[^}}]*"{key}":"\([^"]*\)".*/\1/p'"#)
}

/// What [`capture_sed`] prints for a one-line answer (the tests check the shell's view).
pub fn capture(answer: &str, key: &str) -> Option<String> {
    let line = answer.lines().next()?;
    let head = &line[..line.find('}').unwrap_or(line.len())];
    let needle = format!("\"{key}\":\"");
    let start = head.rfind(&needle)? + needle.len();
    let rest = &line[start..];
    Some(rest[..rest.find('"')?].to_string())
}

/// Replaces the shell variables in `text` by their values.
pub fn substitute(text: &str, values: &BTreeMap<&str, String>) -> String {
    let mut out = text.to_string();
    for (var, value) in values {
        out = out.replace(&format!("${var}"), value);
    }
    out
}

/// A JSON body as one shell word: single-quoted, with its shell variables expanded (each
/// `$VAR` becomes `'"$VAR"'`). Bodies hold no single quotes (a unit test checks).
pub fn shell_body(body: &str) -> String {
    let mut quoted = body.to_string();
    for v in VARIABLES {
        quoted = quoted.replace(&format!("${v}"), &format!("'\"${v}\"'"));
    }
    format!("'{quoted}'")
}

/// Renders the walk-through as shell commands: the tokens first, then one comment line and
/// one curl command per step (plus a capture line where the step fills a variable).
pub fn render(steps: &[WalkStep], base: &str, certs: &Path, exe: &str) -> String {
    let c = certs.display();
    let mut out = String::new();
    let _ = writeln!(
        out,
        "# Walk-through: one family case from aanmelding to closing. First the tokens (valid 15\n\
         # minutes; run these lines again when they expire), then paste the steps in order."
    );
    let mut seen: Vec<String> = Vec::new();
    for s in steps {
        let var = token_var(s.partner, s.role);
        if !seen.contains(&var) {
            let _ = writeln!(
                out,
                "export {var}=$({exe} dev token --certs {c} --partner {} --role {} --purpose {} --ttl 900)",
                s.partner, s.role, s.purpose
            );
            seen.push(var);
        }
    }
    let mut section = "";
    for (i, s) in steps.iter().enumerate() {
        if s.section != section {
            section = s.section;
            let _ = writeln!(out, "\n## {section}");
        }
        let who = demo_partner(s.partner)
            .map(|p| p.display_name)
            .unwrap_or(s.partner);
        let _ = writeln!(
            out,
            "# {}. {who} ({}): {} -> {}",
            i + 1,
            s.role,
            s.shows,
            s.expect
        );
        let mut cmd = format!(
            "curl -s -w '\\n-> HTTP %{{http_code}}\\n' --cacert {c}/ca.pem --cert {c}/partners/{p}.pem --key {c}/partners/{p}.key -H \"Authorization: Bearer ${var}\"",
            p = s.partner,
            var = token_var(s.partner, s.role)
        );
        if s.method != "GET" {
            let _ = write!(cmd, " -X {}", s.method);
        }
        if let Some(k) = s.idempotency_key {
            let _ = write!(cmd, " -H 'Idempotency-Key: {k}'");
        }
        if let Some(body) = &s.body {
            let _ = write!(
                cmd,
                " -H 'Content-Type: application/json' -d {}",
                shell_body(body)
            );
        }
        let _ = write!(cmd, " \"{base}{}\"", s.path);
        if s.captures.is_empty() {
            let _ = writeln!(out, "{cmd}");
        } else {
            let _ = writeln!(out, "R=$({cmd}); echo \"$R\"");
            for cap in &s.captures {
                let _ = writeln!(
                    out,
                    "{v}=$(echo \"$R\" | {sed}); echo \"{v}=${v}\"",
                    v = cap.var,
                    sed = capture_sed(cap.key)
                );
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn capture_matches_the_sed_expression() {
        let answer = r#"{"case_id":"c1","phase":"aanmelding","persons":[{"person_id":"p1","relation":"ouder"},{"person_id":"p2"}]}"#;
        assert_eq!(capture(answer, "case_id").as_deref(), Some("c1"));
        assert_eq!(capture(answer, "person_id").as_deref(), Some("p1"));
        assert_eq!(
            capture(
                r#"{"afspraak":{"id":"a1","x":"y"},"decision_id":"d"}"#,
                "id"
            )
            .as_deref(),
            Some("a1")
        );
        assert_eq!(capture(answer, "item_id"), None);
    }

    #[test]
    fn bodies_survive_single_quotes_and_tokens_are_unique() {
        let steps = walkthrough(NaiveDate::from_ymd_opt(2026, 12, 1).expect("date"));
        let mut purposes = BTreeMap::new();
        for s in &steps {
            assert!(!s.body.as_deref().unwrap_or("").contains('\''), "{}", s.key);
            let p = purposes
                .entry(token_var(s.partner, s.role))
                .or_insert(s.purpose);
            assert_eq!(*p, s.purpose, "one purpose per token variable");
        }
    }
}
