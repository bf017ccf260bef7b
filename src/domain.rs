//! Domain newtypes that validate on parse. Anything that reaches the policy, the case store or
//! the disclosure log has been through one of these, so the rest of the code can trust its shape.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// Why a value was rejected while parsing a domain type.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum DomainError {
    #[error("OIN must be exactly 20 digits")]
    Oin,
    #[error("BSN must be 9 digits and pass the elfproef")]
    Bsn,
    #[error("not a valid UUID: {0}")]
    Id(String),
    #[error("purpose must be 1-64 characters of a-z, 0-9 and _")]
    Purpose,
    #[error("role must be 1-64 characters of a-z, 0-9 and _")]
    Role,
    #[error("unknown leefgebied: {0}")]
    Leefgebied(String),
    #[error("unknown category: {0}")]
    Category(String),
    #[error("unknown case phase: {0}")]
    Phase(String),
    #[error("unknown case kind: {0}")]
    CaseKind(String),
}

/// Organisatie-identificatienummer: the 20-digit organisation id carried in the subject
/// serialNumber of a partner's (PKIoverheid-style) client certificate.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Oin(String);

impl Oin {
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl FromStr for Oin {
    type Err = DomainError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        if s.len() == 20 && s.bytes().all(|b| b.is_ascii_digit()) {
            Ok(Oin(s.to_owned()))
        } else {
            Err(DomainError::Oin)
        }
    }
}

/// Burgerservicenummer. Deliberately has no `Display` and a redacting `Debug`, so it cannot
/// end up in a log line or a trace span by accident; use [`Bsn::expose`] where the digits are
/// really needed (encryption, pseudonymisation).
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct Bsn(String);

impl Bsn {
    /// The digits, for encryption and keyed hashing only.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Bsn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Bsn(<redacted>)")
    }
}

impl FromStr for Bsn {
    type Err = DomainError;
    /// Accepts 9 digits (8 with a leading zero dropped is not accepted: partners must send 9)
    /// that pass the elfproef: 9*d1 + 8*d2 + ... + 2*d8 - 1*d9 is divisible by 11.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let b = s.as_bytes();
        if b.len() != 9 || !b.iter().all(|c| c.is_ascii_digit()) {
            return Err(DomainError::Bsn);
        }
        let d = |i: usize| i64::from(b[i] - b'0');
        let sum: i64 = (0..8).map(|i| (9 - i as i64) * d(i)).sum::<i64>() - d(8);
        if sum % 11 != 0 || s == "000000000" {
            return Err(DomainError::Bsn);
        }
        Ok(Bsn(s.to_owned()))
    }
}

macro_rules! uuid_id {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(pub Uuid);

        impl $name {
            /// A fresh, time-ordered id (UUID v7).
            pub fn new() -> Self {
                $name(Uuid::now_v7())
            }
        }

        impl Default for $name {
            fn default() -> Self {
                Self::new()
            }
        }

        impl FromStr for $name {
            type Err = DomainError;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                Uuid::parse_str(s).map($name).map_err(|_| DomainError::Id(s.chars().take(64).collect()))
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                self.0.fmt(f)
            }
        }
    };
}

uuid_id!(
    /// Id of a case (casus).
    CaseId
);
uuid_id!(
    /// Id of a person within the case record (never a BSN).
    PersonId
);
uuid_id!(
    /// Id of one information item.
    ItemId
);
uuid_id!(
    /// Id of one disclosure-log entry; sent to partners as the `Disclosure-Id` header.
    DisclosureId
);

fn is_identifier(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 64
        && s.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
}

/// A purpose from the convenant's purpose register (doelbinding). Parsing checks the shape;
/// whether the purpose exists in the convenant is the policy's and the token verifier's job.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Purpose(String);

impl Purpose {
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl FromStr for Purpose {
    type Err = DomainError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        if is_identifier(s) {
            Ok(Purpose(s.to_owned()))
        } else {
            Err(DomainError::Purpose)
        }
    }
}

/// A role from the convenant (procesregisseur, professional, privacy_officer, ...).
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Role(String);

impl Role {
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl FromStr for Role {
    type Err = DomainError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        if is_identifier(s) {
            Ok(Role(s.to_owned()))
        } else {
            Err(DomainError::Role)
        }
    }
}

macro_rules! string_enum {
    ($(#[$doc:meta])* $name:ident, $err:ident, { $($variant:ident => $text:literal),+ $(,)? }) => {
        $(#[$doc])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(try_from = "String", into = "&'static str")]
        pub enum $name { $($variant),+ }

        impl $name {
            /// Every value, in declaration order.
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            pub fn as_str(self) -> &'static str {
                match self { $($name::$variant => $text),+ }
            }
        }

        impl FromStr for $name {
            type Err = DomainError;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                match s {
                    $($text => Ok($name::$variant),)+
                    other => Err(DomainError::$err(other.chars().take(64).collect())),
                }
            }
        }

        impl TryFrom<String> for $name {
            type Error = DomainError;
            fn try_from(s: String) -> Result<Self, Self::Error> {
                s.parse()
            }
        }

        impl From<$name> for &'static str {
            fn from(v: $name) -> &'static str {
                v.as_str()
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

string_enum!(
    /// Life domain (after RISc) that an information item is about.
    Leefgebied, Leefgebied, {
        Wonen => "wonen",
        WerkInkomen => "werk_inkomen",
        Schulden => "schulden",
        OpleidingDagbesteding => "opleiding_dagbesteding",
        GezinRelaties => "gezin_relaties",
        SociaalNetwerk => "sociaal_netwerk",
        Verslaving => "verslaving",
        PsychischeGezondheid => "psychische_gezondheid",
        LichamelijkeGezondheid => "lichamelijke_gezondheid",
        Justitie => "justitie",
        Veiligheid => "veiligheid",
    }
);

string_enum!(
    /// Data category the policies reason about (DESIGN.md §1).
    Category, Category, {
        Identificerend => "identificerend",
        Bsn => "bsn",
        Bijzonder => "bijzonder",
        Strafrechtelijk => "strafrechtelijk",
        Overig => "overig",
    }
);

string_enum!(
    /// Where a case is in the Veiligheidshuis process.
    Phase, Phase, {
        Aanmelding => "aanmelding",
        Screening => "screening",
        Mdo => "mdo",
        Uitvoering => "uitvoering",
        Afgesloten => "afgesloten",
    }
);

string_enum!(
    /// Person-, family- (system-) or area-centred case.
    CaseKind, CaseKind, {
        Persoon => "persoon",
        Systeem => "systeem",
        Gebied => "gebied",
    }
);

macro_rules! string_conversions {
    ($($name:ident),+) => {$(
        impl TryFrom<String> for $name {
            type Error = DomainError;
            fn try_from(s: String) -> Result<Self, Self::Error> {
                s.parse()
            }
        }
        impl From<$name> for String {
            fn from(v: $name) -> String {
                v.0
            }
        }
        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }
    )+};
}
string_conversions!(Oin, Purpose, Role);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn oin_is_twenty_digits() {
        assert!("00000099000000000011".parse::<Oin>().is_ok());
        assert!("0000009900000000001".parse::<Oin>().is_err());
        assert!("0000009900000000001x".parse::<Oin>().is_err());
    }

    #[test]
    fn bsn_elfproef() {
        assert!("111222333".parse::<Bsn>().is_ok());
        assert!("123456782".parse::<Bsn>().is_ok());
        assert!("123456789".parse::<Bsn>().is_err());
        assert!("12345678".parse::<Bsn>().is_err());
        assert!("000000000".parse::<Bsn>().is_err());
        assert_eq!(
            format!("{:?}", "111222333".parse::<Bsn>()),
            "Ok(Bsn(<redacted>))"
        );
    }

    #[test]
    fn enums_round_trip() {
        for l in Leefgebied::ALL {
            assert_eq!(l.as_str().parse::<Leefgebied>(), Ok(*l));
        }
        assert!("gezondheid".parse::<Leefgebied>().is_err());
        assert_eq!(
            serde_json::to_string(&Category::Bijzonder).unwrap_or_default(),
            "\"bijzonder\""
        );
    }
}
