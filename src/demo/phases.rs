//! Demo cases in every phase of the life cycle, seeded through the casework steps
//! ([`crate::casework`]) so that the state is what the gateway itself would have produced and
//! the disclosure log holds a real entry for every step.

use std::sync::Arc;

use chrono::{Duration, NaiveDate, Utc};

use super::{demo_kid, partner_thumbprint, SeedError};
use crate::auth::{Claims, VerifiedToken};
use crate::casework::information::{self, NewContribution};
use crate::casework::plan::{self, AfspraakChange, NewAfspraak};
use crate::casework::{self, NewRegistration, ProblemInput, RegisteredPerson, ScreeningOutcome};
use crate::domain::{CaseId, CaseKind, Category, Leefgebied, Oin, PersonId};
use crate::gateway::{Caller, Gateway};
use crate::pki::{demo_partner, DevPkiLayout};
use crate::record::now;

/// One seeded case per phase (plus one destroyed after its retention).
#[derive(Clone, Debug)]
pub struct PhaseCases {
    /// Registered by politie, nothing else yet (aanmelding).
    pub aanmelding: CaseId,
    /// An adviesvraag of the gemeente: screened, decision `advies` (screening).
    pub screening: CaseId,
    /// A family case at the MDO table: invited, partly accepted, a casusregisseur (mdo).
    pub mdo: CaseId,
    /// Aftercare after detention with a plan of afspraken (uitvoering).
    pub uitvoering: CaseId,
    /// Closed with an outcome and a reason (afgesloten).
    pub afgesloten: CaseId,
    /// Sent back to the chain, closed more than the retention period ago, and destroyed.
    pub destroyed: CaseId,
}

impl PhaseCases {
    /// The cases with the phase each shows, in life-cycle order (`vernietigd`: closed and
    /// destroyed after its retention period).
    pub fn list(&self) -> [(&'static str, CaseId); 6] {
        [
            ("aanmelding", self.aanmelding),
            ("screening", self.screening),
            ("mdo", self.mdo),
            ("uitvoering", self.uitvoering),
            ("afgesloten", self.afgesloten),
            ("vernietigd", self.destroyed),
        ]
    }
}

/// A caller as the gateway would see it after mTLS and token checks: the demo partner's
/// registry entry, its dev certificate's thumbprint and a fresh token's claims.
fn caller(
    gw: &Gateway,
    pki: &DevPkiLayout,
    partner: &str,
    role: &str,
    purpose: &str,
) -> Result<Caller, SeedError> {
    let p = demo_partner(partner)
        .ok_or_else(|| SeedError::Invalid(format!("unknown demo partner {partner}")))?;
    let registered = gw
        .registry()
        .get(p.oin)
        .cloned()
        .ok_or_else(|| SeedError::Invalid(format!("{partner} is not in the registry")))?;
    let thumbprint = partner_thumbprint(pki, partner)?;
    let sub = format!("{partner}-medewerker-1");
    let claims = Claims::fresh(p.oin, &sub, "vhgate", 300, role, purpose, &thumbprint);
    Ok(Caller {
        partner: registered,
        token: Arc::new(VerifiedToken {
            claims,
            kid: Some(demo_kid(partner)),
        }),
        thumbprint,
        // Seeding is no partner's request: a trace of its own per step.
        trace: crate::trace::TraceContext::fresh(),
    })
}

fn oin(partner: &str) -> Result<Oin, SeedError> {
    super::oin(partner)
}

/// The first person of a case (the seeded cases' main person).
async fn first_person(gw: &Gateway, case: CaseId) -> Result<PersonId, SeedError> {
    let persons = casework::store::case_persons(gw.record.db(), case).await?;
    persons
        .first()
        .map(|p| PersonId(p.id))
        .ok_or_else(|| SeedError::Invalid(format!("case {case} has no person")))
}

/// Maps a refused or failed step to a seeding error that names the step.
fn step<T, E: std::fmt::Display>(name: &str, r: Result<T, E>) -> Result<T, SeedError> {
    r.map_err(|e| SeedError::Step {
        step: name.to_string(),
        message: e.to_string(),
    })
}

fn person_bsn(bsn: &str, relation: &str) -> Result<RegisteredPerson, SeedError> {
    Ok(RegisteredPerson {
        bsn: Some(
            bsn.parse()
                .map_err(|e| SeedError::Invalid(format!("BSN: {e}")))?,
        ),
        naam: None,
        geboortedatum: None,
        relation: relation.into(),
    })
}

fn person_named(naam: &str, dob: (i32, u32, u32), relation: &str) -> RegisteredPerson {
    RegisteredPerson {
        bsn: None,
        naam: Some(naam.into()),
        geboortedatum: NaiveDate::from_ymd_opt(dob.0, dob.1, dob.2),
        relation: relation.into(),
    }
}

/// The screening-relevant facts of a registration.
struct Frame {
    problems: &'static [(Leefgebied, &'static [&'static str])],
    needed: &'static [&'static str],
    dwang_en_drang: bool,
    family: bool,
}

fn registration(
    kind: CaseKind,
    title: &str,
    reason: &str,
    adviesvraag: bool,
    persons: Vec<RegisteredPerson>,
    frame: &Frame,
) -> NewRegistration {
    NewRegistration {
        kind,
        region: "oost-brabant".into(),
        title: title.into(),
        reason: reason.into(),
        adviesvraag,
        persons,
        problems: frame
            .problems
            .iter()
            .map(|(leefgebied, leads_to)| ProblemInput {
                leefgebied: *leefgebied,
                leads_to: leads_to.iter().map(|s| s.to_string()).collect(),
            })
            .collect(),
        chains_involved: vec![],
        chains_needed: frame.needed.iter().map(|s| s.to_string()).collect(),
        dwang_en_drang: frame.dwang_en_drang,
        family: frame.family,
        social_environment: false,
        serious_safety_problem: false,
    }
}

/// Multiple problems, cross-chain with dwang en drang, the family affected: a
/// Veiligheidshuis case by the complexity criteria.
const COMPLEX: Frame = Frame {
    problems: &[
        (Leefgebied::Veiligheid, &["crimineel"]),
        (Leefgebied::GezinRelaties, &["afglijden"]),
        (Leefgebied::PsychischeGezondheid, &["afglijden"]),
    ],
    needed: &["strafrecht", "zorg", "civiel"],
    dwang_en_drang: true,
    family: true,
};

/// Seeds the phase cases through the casework steps, as the given demo partners would take
/// them (the gateway's registry must hold the demo partners: call after
/// [`super::seed_partners`] and build the gateway on that database).
pub async fn seed_casework(gw: &Gateway, pki: &DevPkiLayout) -> Result<PhaseCases, SeedError> {
    let vhh = caller(gw, pki, "veiligheidshuis", "procesregisseur", "procesregie")?;
    let pro = |partner: &str| caller(gw, pki, partner, "professional", "casusoverleg");
    let politie = pro("politie")?;
    let gemeente = pro("gemeente")?;
    let veilig_thuis = pro("veilig-thuis")?;
    let reclassering = pro("reclassering")?;

    // aanmelding: politie registers a man with confused behaviour and nuisance; nobody has
    // screened it yet.
    let reg = registration(
        CaseKind::Persoon,
        "Verward gedrag en overlast Schijndel",
        "Herhaalde meldingen van verward gedrag en geluidsoverlast; zorgmeldingen via de huisarts liepen dood.",
        false,
        vec![person_bsn("999990172", "hoofdpersoon")?],
        &Frame {
            problems: &[
                (Leefgebied::PsychischeGezondheid, &["overlast"]),
                (Leefgebied::Wonen, &["overlast"]),
            ],
            needed: &["zorg", "bestuur"],
            dwang_en_drang: false,
            family: false,
        },
    );
    let aanmelding = step(
        "register aanmelding",
        casework::register(gw, &politie, None, &reg).await,
    )?
    .case_id;

    // screening: an adviesvraag of the gemeente about debts; the procesregisseur reads the
    // advice and decides advies (the Veiligheidshuis advises, the case stays in screening).
    let reg = registration(
        CaseKind::Persoon,
        "Adviesvraag schulden en uitval Rosmalen",
        "Oplopende huurschuld en uitval bij werk; de gemeente vraagt advies over de aanpak.",
        true,
        vec![person_named("Iris de Wit", (1994, 5, 17), "hoofdpersoon")],
        &Frame {
            problems: &[
                (Leefgebied::Schulden, &["afglijden"]),
                (Leefgebied::WerkInkomen, &["afglijden"]),
            ],
            needed: &["bestuur"],
            dwang_en_drang: false,
            family: false,
        },
    );
    let screening = step(
        "register screening",
        casework::register(gw, &gemeente, None, &reg).await,
    )?
    .case_id;
    step("screen", casework::screening(gw, &vhh, screening).await)?;
    step(
        "decide advies",
        casework::decide_screening(
            gw,
            &vhh,
            screening,
            ScreeningOutcome::Advies,
            "Geen justitieel kader; advies aan de gemeente over schuldhulpverlening en werk.",
        )
        .await,
    )?;

    // mdo: a family registered by Veilig Thuis; invited to the table, two of four accepted so
    // far, Veilig Thuis directs.
    let reg = registration(
        CaseKind::Systeem,
        "Huiselijk geweld gezin Berghem",
        "Herhaalde meldingen van huiselijk geweld; kinderen getuige; eerdere vrijwillige hulp gestopt.",
        false,
        vec![
            person_bsn("999990196", "ouder")?,
            person_bsn("999990202", "ouder")?,
            person_named("Noah Smits", (2015, 3, 8), "kind"),
        ],
        &COMPLEX,
    );
    let mdo = to_mdo(gw, &vhh, &veilig_thuis, &reg, "mdo").await?;
    let table = [
        oin("veilig-thuis")?,
        oin("politie")?,
        oin("rvdk")?,
        oin("gemeente")?,
    ];
    step("invite mdo", casework::invite(gw, &vhh, mdo, &table).await)?;
    step("accept mdo", casework::accept(gw, &veilig_thuis, mdo).await)?;
    step("accept mdo", casework::accept(gw, &politie, mdo).await)?;
    step(
        "casusregisseur mdo",
        casework::set_casusregisseur(gw, &vhh, mdo, &oin("veilig-thuis")?).await,
    )?;
    // The two at the table share what they know about the first parent for the MDO.
    let parent = first_person(gw, mdo).await?;
    for (who, ground, leefgebied, category, content) in [
        (
            &veilig_thuis,
            "wmo_veilig_thuis",
            Leefgebied::GezinRelaties,
            Category::Bijzonder,
            "Drie meldingen huiselijk geweld in een jaar; kinderen waren getuige.",
        ),
        (
            &politie,
            "wpg_politie",
            Leefgebied::Veiligheid,
            Category::Strafrechtelijk,
            "Tijdelijk huisverbod opgelegd na de laatste melding.",
        ),
    ] {
        step(
            "contribute mdo",
            information::contribute(
                gw,
                who,
                mdo,
                &NewContribution {
                    person_id: parent,
                    leefgebied,
                    category,
                    content: content.into(),
                    ground: ground.into(),
                    dates_from: None,
                },
            )
            .await,
        )?;
    }

    // uitvoering: aftercare after detention, registered by Reclassering; everyone accepted,
    // Reclassering directs, the plan has afspraken.
    let reg = registration(
        CaseKind::Persoon,
        "Nazorg na detentie Veghel",
        "Terugkeer na detentie zonder woning en inkomen; verslaving en eerdere geweldsdelicten.",
        false,
        vec![person_bsn("999990214", "hoofdpersoon")?],
        &Frame {
            problems: &[
                (Leefgebied::Wonen, &["crimineel"]),
                (Leefgebied::Verslaving, &["crimineel", "afglijden"]),
            ],
            needed: &["strafrecht", "zorg", "bestuur"],
            dwang_en_drang: true,
            family: true,
        },
    );
    let uitvoering = to_mdo(gw, &vhh, &reclassering, &reg, "uitvoering").await?;
    let partners = ["reclassering", "gemeente", "ggz", "woningcorporatie"];
    let oins = partners
        .iter()
        .map(|p| oin(p))
        .collect::<Result<Vec<_>, _>>()?;
    step(
        "invite uitvoering",
        casework::invite(gw, &vhh, uitvoering, &oins).await,
    )?;
    for p in partners {
        step(
            "accept uitvoering",
            casework::accept(gw, &pro(p)?, uitvoering).await,
        )?;
    }
    step(
        "casusregisseur uitvoering",
        casework::set_casusregisseur(gw, &vhh, uitvoering, &oin("reclassering")?).await,
    )?;
    // The partners share what the plan needs, and Reclassering (casusregisseur) records the
    // afspraken; the first moves the case to uitvoering. GGZ reports its intake stalled, so the
    // attention list has something to show.
    let man = first_person(gw, uitvoering).await?;
    for (partner, ground, leefgebied, category, content) in [
        (
            "reclassering",
            "reclassering_toezicht",
            Leefgebied::Justitie,
            Category::Strafrechtelijk,
            "Voorwaardelijk ontslag met meldplicht en contactverbod; toezicht tot eind volgend jaar.",
        ),
        (
            "gemeente",
            "gemeente_sociaal_domein",
            Leefgebied::WerkInkomen,
            Category::Overig,
            "Geen inkomen sinds ontslag uit detentie; aanvraag bijstand loopt.",
        ),
        (
            "woningcorporatie",
            "convenant_zvh",
            Leefgebied::Wonen,
            Category::Overig,
            "Urgentie toegekend; begeleid wonen mogelijk vanaf volgende maand.",
        ),
    ] {
        step(
            "contribute uitvoering",
            information::contribute(
                gw,
                &pro(partner)?,
                uitvoering,
                &NewContribution {
                    person_id: man,
                    leefgebied,
                    category,
                    content: content.into(),
                    ground: ground.into(),
                    dates_from: None,
                },
            )
            .await,
        )?;
    }
    let regisseur = caller(gw, pki, "reclassering", "casusregisseur", "nazorg")?;
    let today = Utc::now().date_naive();
    for (partner, action, days, status) in [
        (
            "woningcorporatie",
            "Woning met begeleiding toewijzen",
            14,
            Some("lopend"),
        ),
        ("gemeente", "Uitkering en schuldhulp regelen", 21, None),
        (
            "ggz",
            "Intake verslavingszorg plannen",
            7,
            Some("gestagneerd"),
        ),
    ] {
        let made = step(
            "afspraak uitvoering",
            plan::create(
                gw,
                &regisseur,
                uitvoering,
                &NewAfspraak {
                    partner: oin(partner)?,
                    action: action.into(),
                    due: today + Duration::days(days),
                    status: "open",
                },
            )
            .await,
        )?;
        if let Some(status) = status {
            let id = made
                .afspraak
                .id
                .parse()
                .map_err(|e| SeedError::Invalid(format!("afspraak id: {e}")))?;
            let change = AfspraakChange {
                status: Some(status),
                note: Some(format!("Status {status} gemeld door {partner}.")),
                ..AfspraakChange::default()
            };
            step(
                "afspraak status uitvoering",
                plan::update(gw, &pro(partner)?, uitvoering, id, &change).await,
            )?;
        }
    }

    // afgesloten: a family case whose plan was carried out; the procesregisseur closed it.
    let reg = registration(
        CaseKind::Systeem,
        "Zorgen om gezin na verhuizing Uden",
        "Zorgen van school over verwaarlozing na verhuizing; ouders vermijden contact met hulpverlening.",
        false,
        vec![
            person_bsn("999990226", "ouder")?,
            person_named("Emre Yilmaz", (2013, 9, 21), "kind"),
        ],
        &COMPLEX,
    );
    let afgesloten = to_mdo(gw, &vhh, &gemeente, &reg, "afgesloten").await?;
    let table = [oin("gemeente")?, oin("veilig-thuis")?];
    step(
        "invite afgesloten",
        casework::invite(gw, &vhh, afgesloten, &table).await,
    )?;
    step(
        "accept afgesloten",
        casework::accept(gw, &gemeente, afgesloten).await,
    )?;
    step(
        "accept afgesloten",
        casework::accept(gw, &veilig_thuis, afgesloten).await,
    )?;
    step(
        "casusregisseur afgesloten",
        casework::set_casusregisseur(gw, &vhh, afgesloten, &oin("gemeente")?).await,
    )?;
    step(
        "close afgesloten",
        casework::close(
            gw,
            &vhh,
            afgesloten,
            "plan_uitgevoerd",
            "Afspraken uitgevoerd; afgeschaald naar het wijkteam.",
        )
        .await,
    )?;

    // destroyed: sent back to the chain (which closes it), closed longer ago than the
    // retention period, and destroyed by the retention run (logged as case_destroyed).
    let reg = registration(
        CaseKind::Persoon,
        "Overlast jongere Veghel-Noord",
        "Overlast op straat; politie en gemeente hebben de aanpak samen in handen.",
        false,
        vec![person_bsn("999990238", "hoofdpersoon")?],
        &Frame {
            problems: &[(Leefgebied::Veiligheid, &["overlast"])],
            needed: &["bestuur"],
            dwang_en_drang: false,
            family: false,
        },
    );
    let destroyed = step(
        "register destroyed",
        casework::register(gw, &politie, None, &reg).await,
    )?
    .case_id;
    step(
        "decide terug_naar_keten",
        casework::decide_screening(
            gw,
            &vhh,
            destroyed,
            ScreeningOutcome::TerugNaarKeten,
            "Eén keten volstaat: politie en gemeente pakken de overlast samen op.",
        )
        .await,
    )?;
    // Without a retention period in the convenant nothing is destroyed: the case stays closed.
    if let Some(retention) = gw.policy().convenant().retention_days {
        super::store::backdate_closure(
            gw.record.db(),
            destroyed,
            now() - Duration::days(retention + 30),
        )
        .await?;
        let gone = step("retention", casework::destroy_expired(gw, now()).await)?;
        if !gone.contains(&destroyed) {
            return Err(SeedError::Invalid(
                "the retention run did not destroy the expired demo case".into(),
            ));
        }
    }

    Ok(PhaseCases {
        aanmelding,
        screening,
        mdo,
        uitvoering,
        afgesloten,
        destroyed,
    })
}

/// Registers, screens and decides veiligheidshuis_case: the case is then in MDO preparation.
async fn to_mdo(
    gw: &Gateway,
    vhh: &Caller,
    registrant: &Caller,
    reg: &NewRegistration,
    name: &str,
) -> Result<CaseId, SeedError> {
    let case = step(name, casework::register(gw, registrant, None, reg).await)?.case_id;
    step(name, casework::screening(gw, vhh, case).await)?;
    step(
        name,
        casework::decide_screening(
            gw,
            vhh,
            case,
            ScreeningOutcome::VeiligheidshuisCase,
            "Voldoet aan de complexiteitscriteria; ketenoverstijgende aanpak nodig.",
        )
        .await,
    )?;
    Ok(case)
}
