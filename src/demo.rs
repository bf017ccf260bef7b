//! The demo convenant: the demo partners (with their dev token keys) and the example cases of
//! seed 003 (Veiligheidshuis Maas & Leijgraaf), fictionalised: names, BSNs (valid elfproef, in
//! a test range) and details are invented. [`seed_casework`] adds a case in every phase of the
//! life cycle through the gateway's own steps, and [`walk`] is the walk-through of one family
//! case from aanmelding to closing that `vhgate demo` prints as curl commands.

mod phases;
pub mod store;
pub mod walk;

pub use phases::{seed_casework, PhaseCases};

use chrono::{Duration, NaiveDate, Utc};

use std::path::Path;

use crate::app::{open_record, AppError};
use crate::auth::{sign_token, Claims};
use crate::config::Config;
use crate::crypto::{ensure_key_file, CryptoError};
use crate::disclosure::checkpoint::ensure_signer_key_file;
use crate::domain::{CaseId, CaseKind, Category, Leefgebied, Oin, PersonId, Phase};
use crate::pki::{demo_partner, DevPkiLayout, PkiError, DEMO_PARTNERS};
use crate::record::{now, CaseRecord, NewCase, NewItem, NewPerson};
use crate::store::{Db, StoreError, Tx};

/// Errors while seeding.
#[derive(Debug, thiserror::Error)]
pub enum SeedError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("{path}: {message}")]
    File { path: String, message: String },
    #[error("invalid seed value: {0}")]
    Invalid(String),
    #[error(transparent)]
    Crypto(#[from] CryptoError),
    #[error(transparent)]
    App(#[from] Box<AppError>),
    #[error(transparent)]
    Pki(#[from] PkiError),
    #[error("token: {0}")]
    Token(String),
    /// A casework step of the seeding was refused or failed.
    #[error("seeding step {step}: {message}")]
    Step { step: String, message: String },
}

/// The demo partner whose certificate may scrape `/metrics` (the Veiligheidshuis runs the
/// gateway, so its monitoring does).
pub const DEMO_MONITORING_PARTNER: &str = "veiligheidshuis";

/// Points `config` at a dev PKI (server certificate, CA, CRL) and a data folder that holds the
/// SQLite database and the key files, and lets [`DEMO_MONITORING_PARTNER`] scrape `/metrics`.
pub fn dev_config(mut config: Config, pki: &DevPkiLayout, data_dir: &Path) -> Config {
    config.database.url = format!("sqlite://{}", data_dir.join("vhgate-demo.db").display());
    config.secrets.pseudonym_key_file = data_dir.join("secrets/pseudonym.key");
    config.secrets.record_key_file = data_dir.join("secrets/record.key");
    config.secrets.log_signing_key_file = data_dir.join("secrets/log-signing.key");
    config.tls.cert = pki.gateway_cert();
    config.tls.key = pki.gateway_key();
    config.tls.client_ca = vec![pki.ca_cert()];
    config.tls.crls = vec![pki.crl()];
    config.metrics.monitoring_oins = demo_partner(DEMO_MONITORING_PARTNER)
        .and_then(|p| p.oin.parse().ok())
        .into_iter()
        .collect();
    config
}

/// Creates the key files if missing, migrates the configured database and seeds the demo
/// partners (with their token keys from `pki`) and cases.
pub async fn prepare(config: &Config, pki: &DevPkiLayout) -> Result<DemoIds, SeedError> {
    ensure_key_file(&config.secrets.pseudonym_key_file)?;
    ensure_key_file(&config.secrets.record_key_file)?;
    ensure_signer_key_file(&config.secrets.log_signing_key_file)
        .map_err(|e| SeedError::Invalid(e.to_string()))?;
    let db = Db::connect(&config.database.url, 2).await?;
    db.migrate().await?;
    let record = open_record(config, db.clone()).map_err(Box::new)?;
    seed_partners(&record, pki).await?;
    let ids = seed_cases(&record).await;
    db.close().await;
    ids
}

/// What a demo token says: partner, role, purpose, the employee (`sub`, default
/// `<partner>-medewerker-1`), the stated reason a spoed token needs, lifetime and audience.
#[derive(Clone, Debug)]
pub struct DevTokenSpec<'a> {
    pub partner: &'a str,
    pub role: &'a str,
    pub purpose: &'a str,
    pub sub: Option<String>,
    pub reason: Option<String>,
    pub ttl_secs: i64,
    pub audience: &'a str,
}

impl<'a> DevTokenSpec<'a> {
    /// A token of `partner` for `role` and `purpose`, valid `ttl_secs`, for audience vhgate.
    pub fn new(partner: &'a str, role: &'a str, purpose: &'a str, ttl_secs: i64) -> Self {
        DevTokenSpec {
            partner,
            role,
            purpose,
            sub: None,
            reason: None,
            ttl_secs,
            audience: "vhgate",
        }
    }
}

/// A token for a demo partner, signed with its dev key and bound to its dev client certificate.
pub fn dev_token(pki: &DevPkiLayout, spec: &DevTokenSpec<'_>) -> Result<String, SeedError> {
    let DevTokenSpec {
        partner,
        role,
        purpose,
        ttl_secs,
        audience,
        ..
    } = *spec;
    let p = demo_partner(partner)
        .ok_or_else(|| SeedError::Invalid(format!("unknown demo partner {partner}")))?;
    if !(1..=900).contains(&ttl_secs) {
        return Err(SeedError::Invalid(
            "token lifetime must be between 1 and 900 seconds".into(),
        ));
    }
    let thumbprint = partner_thumbprint(pki, partner)?;
    let key_path = pki.partner_jwt_key(partner);
    let key = std::fs::read_to_string(&key_path).map_err(|e| SeedError::File {
        path: key_path.display().to_string(),
        message: e.to_string(),
    })?;
    let sub = spec
        .sub
        .clone()
        .unwrap_or_else(|| format!("{partner}-medewerker-1"));
    let claims = Claims {
        reason: spec.reason.clone(),
        ..Claims::fresh(p.oin, &sub, audience, ttl_secs, role, purpose, &thumbprint)
    };
    sign_token(&claims, &key, Some(&demo_kid(partner))).map_err(|e| SeedError::Token(e.to_string()))
}

/// The `x5t#S256` thumbprint of a demo partner's dev client certificate.
fn partner_thumbprint(pki: &DevPkiLayout, partner: &str) -> Result<String, SeedError> {
    let cert_path = pki.partner_cert(partner);
    let cert = crate::tls::load_certs(&cert_path).map_err(|e| SeedError::File {
        path: cert_path.display().to_string(),
        message: e.to_string(),
    })?;
    let first = cert.first().ok_or_else(|| SeedError::File {
        path: cert_path.display().to_string(),
        message: "no certificate".into(),
    })?;
    Ok(crate::tls::thumbprint(first))
}

/// Ids of the seeded cases and persons, for the demo walk-through and tests.
#[derive(Clone, Debug)]
pub struct DemoIds {
    /// Man moving to Uden after detention (persoon, uitvoering).
    pub uden_case: CaseId,
    pub uden_man: PersonId,
    pub uden_man_bsn: &'static str,
    /// The 18-year-old in Oss (persoon, mdo).
    pub oss_case: CaseId,
    pub oss_youth: PersonId,
    pub oss_youth_bsn: &'static str,
    /// The family in Oss with six minors and domestic violence (systeem, mdo).
    pub gezin_case: CaseId,
    pub gezin_mother: PersonId,
    pub gezin_father: PersonId,
    pub gezin_children: Vec<PersonId>,
    /// A closed case (Veghel, vechtscheiding).
    pub closed_case: CaseId,
    pub closed_person: PersonId,
    /// A case just registered (aanmelding).
    pub new_case: CaseId,
    pub new_person: PersonId,
    /// A BSN not known in any case.
    pub unknown_bsn: &'static str,
}

/// The `kid` under which a demo partner's token key is registered.
pub fn demo_kid(partner_name: &str) -> String {
    format!("{partner_name}-1")
}

fn oin(name: &str) -> Result<Oin, SeedError> {
    DEMO_PARTNERS
        .iter()
        .find(|p| p.name == name)
        .ok_or_else(|| SeedError::Invalid(format!("no demo partner {name}")))?
        .oin
        .parse()
        .map_err(|e| SeedError::Invalid(format!("{name}: {e}")))
}

/// Registers the demo partners and their token keys from the dev PKI.
pub async fn seed_partners(record: &CaseRecord, pki: &DevPkiLayout) -> Result<(), SeedError> {
    for p in DEMO_PARTNERS {
        let oin: Oin = p
            .oin
            .parse()
            .map_err(|e| SeedError::Invalid(format!("{}: {e}", p.name)))?;
        record
            .upsert_partner(&oin, p.display_name, p.partner_type)
            .await?;
        let path = pki.partner_jwt_pub(p.name);
        let pem = std::fs::read_to_string(&path).map_err(|e| SeedError::File {
            path: path.display().to_string(),
            message: e.to_string(),
        })?;
        record
            .put_partner_key(&demo_kid(p.name), &oin, "EdDSA", &pem)
            .await?;
    }
    Ok(())
}

struct Seeder<'a> {
    record: &'a CaseRecord,
    tx: tokio::sync::Mutex<Tx>,
}

impl Seeder<'_> {
    async fn person(
        &self,
        naam: &str,
        dob: (i32, u32, u32),
        adres: &str,
        bsn: Option<&str>,
    ) -> Result<PersonId, SeedError> {
        let bsn = bsn
            .map(|b| {
                b.parse()
                    .map_err(|e| SeedError::Invalid(format!("BSN: {e}")))
            })
            .transpose()?;
        Ok(self
            .record
            .insert_person(
                &mut *self.tx.lock().await,
                &NewPerson {
                    naam: naam.into(),
                    geboortedatum: NaiveDate::from_ymd_opt(dob.0, dob.1, dob.2),
                    adres: Some(adres.into()),
                    bsn,
                },
            )
            .await?)
    }

    async fn case(
        &self,
        kind: CaseKind,
        phase: Phase,
        title: &str,
        by: &str,
        regisseur: Option<&str>,
    ) -> Result<CaseId, SeedError> {
        Ok(self
            .record
            .insert_case(
                &mut *self.tx.lock().await,
                &NewCase {
                    kind,
                    phase,
                    region: "oost-brabant".into(),
                    title: title.into(),
                    registered_by: oin(by)?,
                    casusregisseur: regisseur.map(oin).transpose()?,
                },
            )
            .await?)
    }

    async fn table(&self, case: CaseId, partners: &[&str], days_ago: i64) -> Result<(), SeedError> {
        for p in partners {
            self.record
                .add_participant(
                    &mut *self.tx.lock().await,
                    case,
                    &oin(p)?,
                    now() - Duration::days(days_ago),
                )
                .await?;
        }
        Ok(())
    }

    #[allow(clippy::too_many_arguments)]
    async fn item(
        &self,
        case: CaseId,
        person: PersonId,
        leefgebied: Leefgebied,
        category: Category,
        by: &str,
        days_ago: i64,
        content: &str,
    ) -> Result<(), SeedError> {
        self.record
            .add_item(
                &mut *self.tx.lock().await,
                &NewItem {
                    case_id: case,
                    person_id: person,
                    leefgebied,
                    category,
                    content: content.into(),
                    contributed_by: oin(by)?,
                    recorded_at: now() - Duration::days(days_ago),
                },
            )
            .await?;
        Ok(())
    }

    async fn link(&self, case: CaseId, person: PersonId, relation: &str) -> Result<(), SeedError> {
        let mut tx = self.tx.lock().await;
        Ok(self
            .record
            .add_case_person(&mut tx, case, person, relation)
            .await?)
    }

    async fn afspraak(
        &self,
        case: CaseId,
        partner: &Oin,
        action: &str,
        due: NaiveDate,
        status: &str,
    ) -> Result<uuid::Uuid, SeedError> {
        let mut tx = self.tx.lock().await;
        Ok(self
            .record
            .add_afspraak(&mut tx, case, partner, action, due, status)
            .await?)
    }

    async fn phase(&self, case: CaseId, phase: Phase) -> Result<(), SeedError> {
        let mut tx = self.tx.lock().await;
        Ok(self.record.set_phase(&mut tx, case, phase).await?)
    }
}

/// Seeds the demo cases. Call after [`seed_partners`].
pub async fn seed_cases(record: &CaseRecord) -> Result<DemoIds, SeedError> {
    use Category::*;
    use Leefgebied::*;
    // One transaction: the demo's cases appear whole or not at all.
    let s = Seeder {
        record,
        tx: tokio::sync::Mutex::new(record.db().begin().await?),
    };
    let today = Utc::now().date_naive();

    // Casus Uden: man from Nuenen, earlier convicted of a sexual offence, supervision almost
    // over, ambulant GGZ, moving to a flat in Uden. The meeting: reclassering, zorgaanbieder,
    // gemeente, wijkagent, woningcorporatie, Veiligheidshuis.
    let uden_case = s
        .case(
            CaseKind::Persoon,
            Phase::Uitvoering,
            "Nazorg vestiging Uden",
            "gemeente",
            Some("reclassering"),
        )
        .await?;
    let uden_man = s
        .person(
            "Henk Verhoeven",
            (1979, 3, 14),
            "Kerkstraat 12, 5401 AB Uden",
            Some("999990019"),
        )
        .await?;
    s.link(uden_case, uden_man, "betrokkene").await?;
    s.table(
        uden_case,
        &[
            "veiligheidshuis",
            "reclassering",
            "gemeente",
            "politie",
            "woningcorporatie",
            "ggz",
        ],
        40,
    )
    .await?;
    s.item(uden_case, uden_man, Wonen, Overig, "woningcorporatie", 30, "Appartement in Uden toegewezen; sleuteloverdracht 1 december. Begeleid wonen via zorgaanbieder loopt tot de verhuizing.").await?;
    s.item(uden_case, uden_man, Justitie, Strafrechtelijk, "reclassering", 28, "Eerder veroordeeld voor een zedendelict; detentie uitgezeten. Reclasseringstoezicht loopt over drie maanden af; bijzondere voorwaarden: meldplicht en contactverbod.").await?;
    s.item(uden_case, uden_man, PsychischeGezondheid, Bijzonder, "ggz", 25, "Ambulante GGZ-behandeling, tweewekelijks. Behandelaar adviseert continuiteit van behandeling na de verhuizing.").await?;
    s.item(
        uden_case,
        uden_man,
        SociaalNetwerk,
        Overig,
        "gemeente",
        21,
        "Weinig eigen netwerk in Uden; wekelijks contact met zus in Nuenen.",
    )
    .await?;
    s.item(
        uden_case,
        uden_man,
        Veiligheid,
        Overig,
        "politie",
        14,
        "Wijkagent Uden-Noord is geinformeerd over de vestiging; geen recente meldingen.",
    )
    .await?;
    s.item(
        uden_case,
        uden_man,
        WerkInkomen,
        Overig,
        "gemeente",
        10,
        "Uitkering via gemeente Eindhoven; overdracht naar gemeente Uden aangevraagd.",
    )
    .await?;
    s.afspraak(
        uden_case,
        &oin("reclassering")?,
        "Toezichtsplan afstemmen op nieuwe woonplaats",
        today + Duration::days(14),
        "lopend",
    )
    .await?;
    s.afspraak(
        uden_case,
        &oin("ggz")?,
        "Behandeling overdragen aan GGZ-team Uden",
        today + Duration::days(21),
        "open",
    )
    .await?;
    s.afspraak(
        uden_case,
        &oin("woningcorporatie")?,
        "Huurcontract en buurtbemiddeling regelen",
        today - Duration::days(3),
        "gestagneerd",
    )
    .await?;

    // Casus Oss: young man of 18, often involved in reports of violence and theft; worries about
    // school and home. Meeting with youth care (here: GGZ), school (gemeente/leerplicht), politie.
    let oss_case = s
        .case(
            CaseKind::Persoon,
            Phase::Mdo,
            "Jongvolwassene Oss",
            "politie",
            Some("gemeente"),
        )
        .await?;
    let oss_youth = s
        .person(
            "Daan Kuipers",
            (2008, 6, 2),
            "Molenstraat 45, 5341 GE Oss",
            Some("999990020"),
        )
        .await?;
    s.link(oss_case, oss_youth, "betrokkene").await?;
    s.table(
        oss_case,
        &["veiligheidshuis", "politie", "gemeente", "ggz"],
        12,
    )
    .await?;
    s.item(oss_case, oss_youth, Justitie, Strafrechtelijk, "politie", 9, "Vijf registraties in het afgelopen jaar: twee keer mishandeling, drie keer winkeldiefstal.").await?;
    s.item(
        oss_case,
        oss_youth,
        OpleidingDagbesteding,
        Overig,
        "gemeente",
        8,
        "Uitgevallen op mbo niveau 2; praktijkbegeleider meldt structureel verzuim.",
    )
    .await?;
    s.item(
        oss_case,
        oss_youth,
        GezinRelaties,
        Overig,
        "gemeente",
        8,
        "Woont bij moeder; spanningen thuis, vader uit beeld.",
    )
    .await?;
    s.item(
        oss_case,
        oss_youth,
        Verslaving,
        Bijzonder,
        "ggz",
        6,
        "Dagelijks cannabisgebruik; staat open voor gesprek bij jeugdverslavingszorg.",
    )
    .await?;
    // Older than the convenant's horizon: withheld from everyone by proportionaliteit.
    s.item(
        oss_case,
        oss_youth,
        Justitie,
        Strafrechtelijk,
        "politie",
        2400,
        "Halt-afdoening na vernieling (als twaalfjarige).",
    )
    .await?;
    s.afspraak(
        oss_case,
        &oin("gemeente")?,
        "Traject terug naar school met leerplicht",
        today + Duration::days(30),
        "open",
    )
    .await?;

    // Casus gezin Oss: family living at three addresses, six minors, domestic violence and
    // possible abuse. COM-table with RvdK, OM, politie, Veilig Thuis, gemeente.
    let gezin_case = s
        .case(
            CaseKind::Systeem,
            Phase::Mdo,
            "Gezin Oss (systeem)",
            "veilig-thuis",
            Some("veilig-thuis"),
        )
        .await?;
    let gezin_mother = s
        .person(
            "Aye Thandar",
            (1986, 11, 3),
            "Heuvel 7, 5341 CA Oss",
            Some("999990032"),
        )
        .await?;
    let gezin_father = s
        .person(
            "Min Htet",
            (1982, 1, 20),
            "Kruisstraat 30, 5341 DB Oss",
            Some("999990044"),
        )
        .await?;
    s.link(gezin_case, gezin_mother, "ouder").await?;
    s.link(gezin_case, gezin_father, "ouder").await?;
    s.table(
        gezin_case,
        &[
            "veiligheidshuis",
            "rvdk",
            "om",
            "politie",
            "veilig-thuis",
            "gemeente",
        ],
        20,
    )
    .await?;
    let children = [
        ("Su Myat", (2010, 4, 1), "999990056"),
        ("Kyaw Zin", (2012, 8, 9), "999990068"),
        ("Hnin Wai", (2014, 2, 17), "999990081"),
        ("Aung Min", (2016, 5, 30), "999990093"),
        ("Ei Phyu", (2018, 10, 12), "999990111"),
        ("Zaw Lin", (2021, 7, 4), "999990123"),
    ];
    let mut gezin_children = Vec::new();
    for (i, (naam, dob, bsn)) in children.iter().enumerate() {
        let adres = [
            "Heuvel 7, 5341 CA Oss",
            "Kruisstraat 30, 5341 DB Oss",
            "Walstraat 2, 5341 EP Oss",
        ][i % 3];
        let child = s.person(naam, *dob, adres, Some(bsn)).await?;
        s.link(gezin_case, child, "kind").await?;
        gezin_children.push(child);
    }
    s.item(
        gezin_case,
        gezin_mother,
        Veiligheid,
        Overig,
        "veilig-thuis",
        18,
        "Melding huiselijk geweld; moeder en kinderen verblijven afwisselend op drie adressen.",
    )
    .await?;
    s.item(
        gezin_case,
        gezin_mother,
        Wonen,
        Identificerend,
        "gemeente",
        18,
        "Verblijfadressen: Heuvel 7, Kruisstraat 30 en Walstraat 2 te Oss; telefoon 06-00000000.",
    )
    .await?;
    s.item(
        gezin_case,
        gezin_father,
        Veiligheid,
        Strafrechtelijk,
        "politie",
        15,
        "Aangifte van mishandeling tegen vader; OM beoordeelt vervolging.",
    )
    .await?;
    s.item(
        gezin_case,
        gezin_father,
        Justitie,
        Strafrechtelijk,
        "om",
        10,
        "Strafzaak aangehouden; voorwaardelijk sepot met contactverbod wordt overwogen.",
    )
    .await?;
    s.item(
        gezin_case,
        gezin_mother,
        PsychischeGezondheid,
        Bijzonder,
        "veilig-thuis",
        12,
        "Moeder toont traumaklachten; verwijzing naar GGZ besproken.",
    )
    .await?;
    s.item(
        gezin_case,
        gezin_mother,
        GezinRelaties,
        Overig,
        "rvdk",
        9,
        "Raadsonderzoek naar kinderbeschermingsmaatregel gestart voor alle zes kinderen.",
    )
    .await?;
    if let Some(oldest) = gezin_children.first() {
        s.item(
            gezin_case,
            *oldest,
            LichamelijkeGezondheid,
            Bijzonder,
            "veilig-thuis",
            12,
            "Blauwe plekken geconstateerd door school; huisarts ingeschakeld.",
        )
        .await?;
        s.item(gezin_case, *oldest, OpleidingDagbesteding, Overig, "gemeente", 11, "De kinderen gaan naar drie verschillende basisscholen; intern begeleiders zijn aangesloten.").await?;
    }
    s.afspraak(
        gezin_case,
        &oin("rvdk")?,
        "Raadsonderzoek afronden en advies uitbrengen",
        today + Duration::days(42),
        "lopend",
    )
    .await?;
    s.afspraak(
        gezin_case,
        &oin("veilig-thuis")?,
        "Veiligheidsplan met moeder opstellen",
        today - Duration::days(5),
        "open",
    )
    .await?;

    // Casus Veghel (closed): worries about a possible family drama after a fight over divorce.
    let closed_case = s
        .case(
            CaseKind::Systeem,
            Phase::Uitvoering,
            "Vechtscheiding Veghel",
            "gemeente",
            Some("gemeente"),
        )
        .await?;
    let closed_person = s
        .person(
            "Peter van Dijk",
            (1975, 9, 9),
            "Hoofdstraat 1, 5461 JA Veghel",
            Some("999990135"),
        )
        .await?;
    s.link(closed_case, closed_person, "ouder").await?;
    s.table(
        closed_case,
        &["veiligheidshuis", "gemeente", "ggz", "politie"],
        200,
    )
    .await?;
    s.item(closed_case, closed_person, GezinRelaties, Overig, "gemeente", 190, "Zorgen van grootouder over vechtscheiding; kinderen tijdelijk in crisispleeggezin geplaatst.").await?;
    s.phase(closed_case, Phase::Afgesloten).await?;

    // Just registered (aanmelding): only a summary until screening.
    let new_case = s
        .case(
            CaseKind::Persoon,
            Phase::Aanmelding,
            "Aanmelding Boekel",
            "politie",
            None,
        )
        .await?;
    let new_person = s
        .person(
            "Sanne Jacobs",
            (1999, 12, 24),
            "Kerkstraat 3, 5427 BB Boekel",
            Some("999990147"),
        )
        .await?;
    s.link(new_case, new_person, "betrokkene").await?;
    s.table(new_case, &["veiligheidshuis", "politie"], 1)
        .await?;
    s.item(
        new_case,
        new_person,
        Veiligheid,
        Overig,
        "politie",
        1,
        "Aangemeld na herhaalde overlastmeldingen in de wijk.",
    )
    .await?;

    s.tx.into_inner().commit().await?;
    Ok(DemoIds {
        uden_case,
        uden_man,
        uden_man_bsn: "999990019",
        oss_case,
        oss_youth,
        oss_youth_bsn: "999990020",
        gezin_case,
        gezin_mother,
        gezin_father,
        gezin_children,
        closed_case,
        closed_person,
        new_case,
        new_person,
        unknown_bsn: "999990160",
    })
}
