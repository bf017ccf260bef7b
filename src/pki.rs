//! Development PKI, generated with rcgen: a convenant CA, the gateway's server certificate, and
//! per demo partner a client certificate (OIN in the subject serialNumber) plus the partner's
//! own Ed25519 token-signing key pair. Private keys are written with mode 0600 and are
//! git-ignored; nothing here is for production.

use std::io::Write;
use std::path::{Path, PathBuf};

use rcgen::{
    BasicConstraints, CertificateParams, CertificateRevocationListParams, DistinguishedName,
    DnType, DnValue, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyIdMethod, KeyPair, KeyUsagePurpose,
    RevokedCertParams, SanType, SerialNumber, PKCS_ECDSA_P256_SHA256, PKCS_ED25519,
};
use time::{Duration, OffsetDateTime};

/// Errors while generating or reading the dev PKI.
#[derive(Debug, thiserror::Error)]
pub enum PkiError {
    #[error("certificate generation: {0}")]
    Rcgen(#[from] rcgen::Error),
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{0}")]
    Invalid(String),
}

/// A partner of the demo convenant.
#[derive(Clone, Copy, Debug)]
pub struct DemoPartner {
    /// File name stem under certs/dev/partners/.
    pub name: &'static str,
    pub oin: &'static str,
    pub partner_type: &'static str,
    pub display_name: &'static str,
}

/// The demo partners. OINs are in an obviously fictitious range (00000099...).
pub const DEMO_PARTNERS: &[DemoPartner] = &[
    DemoPartner {
        name: "politie",
        oin: "00000099000000000011",
        partner_type: "politie",
        display_name: "Politie Eenheid Oost-Brabant",
    },
    DemoPartner {
        name: "om",
        oin: "00000099000000000012",
        partner_type: "om",
        display_name: "Openbaar Ministerie Oost-Brabant",
    },
    DemoPartner {
        name: "reclassering",
        oin: "00000099000000000013",
        partner_type: "reclassering",
        display_name: "Reclassering Nederland",
    },
    DemoPartner {
        name: "rvdk",
        oin: "00000099000000000014",
        partner_type: "rvdk",
        display_name: "Raad voor de Kinderbescherming",
    },
    DemoPartner {
        name: "gemeente",
        oin: "00000099000000000015",
        partner_type: "gemeente",
        display_name: "Gemeente Oss",
    },
    DemoPartner {
        name: "ggz",
        oin: "00000099000000000016",
        partner_type: "ggz",
        display_name: "GGZ Oost Brabant",
    },
    DemoPartner {
        name: "veilig-thuis",
        oin: "00000099000000000017",
        partner_type: "veilig_thuis",
        display_name: "Veilig Thuis Brabant Noordoost",
    },
    DemoPartner {
        name: "woningcorporatie",
        oin: "00000099000000000018",
        partner_type: "woningcorporatie",
        display_name: "Woningcorporatie Area",
    },
    DemoPartner {
        name: "veiligheidshuis",
        oin: "00000099000000000019",
        partner_type: "veiligheidshuis",
        display_name: "Veiligheidshuis Maas & Leijgraaf",
    },
];

/// Looks up a demo partner by file name.
pub fn demo_partner(name: &str) -> Option<&'static DemoPartner> {
    DEMO_PARTNERS.iter().find(|p| p.name == name)
}

/// Writes a file readable only by its owner (0600), creating parent directories.
pub fn write_private(path: &Path, data: &[u8]) -> std::io::Result<()> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
    }
    let mut f = opts.open(path)?;
    f.write_all(data)?;
    f.sync_all()
}

fn write_public(path: &Path, data: &[u8]) -> Result<(), PkiError> {
    let io = |source| PkiError::Io {
        path: path.to_path_buf(),
        source,
    };
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(io)?;
    }
    std::fs::write(path, data).map_err(io)
}

fn write_key(path: &Path, data: &[u8]) -> Result<(), PkiError> {
    write_private(path, data).map_err(|source| PkiError::Io {
        path: path.to_path_buf(),
        source,
    })
}

fn read(path: &Path) -> Result<String, PkiError> {
    std::fs::read_to_string(path).map_err(|source| PkiError::Io {
        path: path.to_path_buf(),
        source,
    })
}

/// Options for a client certificate (tests use the odd ones).
#[derive(Clone, Debug)]
pub struct ClientCertOptions {
    pub not_before: OffsetDateTime,
    pub not_after: OffsetDateTime,
    /// Mark the certificate for server authentication only (a wrong certificate for a client).
    pub server_auth_only: bool,
    pub serial: u64,
}

impl Default for ClientCertOptions {
    fn default() -> Self {
        let now = OffsetDateTime::now_utc();
        ClientCertOptions {
            not_before: now - Duration::hours(1),
            not_after: now + Duration::days(365),
            server_auth_only: false,
            serial: random_serial(),
        }
    }
}

fn random_serial() -> u64 {
    let mut b = [0u8; 8];
    // A failed RNG only risks a duplicate dev serial; fall back to the clock.
    if ring::rand::SecureRandom::fill(&ring::rand::SystemRandom::new(), &mut b).is_err() {
        return OffsetDateTime::now_utc().unix_timestamp_nanos() as u64;
    }
    u64::from_be_bytes(b) >> 1
}

/// A certificate and its private key, PEM.
#[derive(Clone, Debug)]
pub struct IssuedCert {
    pub cert_pem: String,
    pub key_pem: String,
    pub serial: u64,
}

/// A certificate authority that can issue certificates and CRLs.
pub struct Ca {
    issuer: Issuer<'static, KeyPair>,
    pub cert_pem: String,
}

impl Ca {
    /// A new self-signed CA.
    pub fn generate(common_name: &str) -> Result<Ca, PkiError> {
        let key = KeyPair::generate_for(&PKCS_ECDSA_P256_SHA256)?;
        let mut params = CertificateParams::default();
        let mut dn = DistinguishedName::new();
        dn.push(DnType::CommonName, common_name);
        dn.push(DnType::OrganizationName, "vhgate development convenant");
        params.distinguished_name = dn;
        params.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
        params.key_usages = vec![
            KeyUsagePurpose::KeyCertSign,
            KeyUsagePurpose::CrlSign,
            KeyUsagePurpose::DigitalSignature,
        ];
        let now = OffsetDateTime::now_utc();
        params.not_before = now - Duration::hours(1);
        params.not_after = now + Duration::days(3650);
        params.key_identifier_method = KeyIdMethod::Sha256;
        params.serial_number = Some(SerialNumber::from(random_serial()));
        let cert = params.self_signed(&key)?;
        Ok(Ca {
            cert_pem: cert.pem(),
            issuer: Issuer::new(params, key),
        })
    }

    /// Loads a CA from its certificate and key PEM.
    pub fn from_pem(cert_pem: &str, key_pem: &str) -> Result<Ca, PkiError> {
        let key = KeyPair::from_pem(key_pem)?;
        let issuer = Issuer::from_ca_cert_pem(cert_pem, key)?;
        Ok(Ca {
            issuer,
            cert_pem: cert_pem.to_string(),
        })
    }

    /// The CA's private key, PEM.
    pub fn key_pem(&self) -> String {
        self.issuer.key().serialize_pem()
    }

    /// A server certificate for the given DNS names / IP addresses.
    pub fn issue_server(&self, names: &[&str]) -> Result<IssuedCert, PkiError> {
        let key = KeyPair::generate_for(&PKCS_ECDSA_P256_SHA256)?;
        let mut params =
            CertificateParams::new(names.iter().map(|s| s.to_string()).collect::<Vec<_>>())?;
        params.subject_alt_names = names
            .iter()
            .map(|n| match n.parse::<std::net::IpAddr>() {
                Ok(ip) => Ok(SanType::IpAddress(ip)),
                Err(_) => Ok(SanType::DnsName((*n).try_into()?)),
            })
            .collect::<Result<_, rcgen::Error>>()?;
        let mut dn = DistinguishedName::new();
        dn.push(DnType::CommonName, "vhgate gateway (development)");
        params.distinguished_name = dn;
        params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
        params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
        let opts = ClientCertOptions::default();
        params.not_before = opts.not_before;
        params.not_after = opts.not_after;
        params.serial_number = Some(SerialNumber::from(opts.serial));
        let cert = params.signed_by(&key, &self.issuer)?;
        Ok(IssuedCert {
            cert_pem: cert.pem(),
            key_pem: key.serialize_pem(),
            serial: opts.serial,
        })
    }

    /// A partner client certificate carrying the OIN in the subject serialNumber, as
    /// PKIoverheid certificates do.
    pub fn issue_client(
        &self,
        oin: &str,
        org_name: &str,
        opts: &ClientCertOptions,
    ) -> Result<IssuedCert, PkiError> {
        let key = KeyPair::generate_for(&PKCS_ECDSA_P256_SHA256)?;
        let mut params = CertificateParams::default();
        let mut dn = DistinguishedName::new();
        dn.push(DnType::CountryName, "NL");
        dn.push(DnType::OrganizationName, org_name);
        dn.push(DnType::CommonName, format!("{org_name} (vhgate client)"));
        // serialNumber (2.5.4.5) is a PrintableString.
        dn.push(
            DnType::CustomDnType(vec![2, 5, 4, 5]),
            DnValue::PrintableString(
                oin.try_into()
                    .map_err(|_| PkiError::Invalid(format!("bad OIN {oin}")))?,
            ),
        );
        params.distinguished_name = dn;
        params.extended_key_usages = if opts.server_auth_only {
            vec![ExtendedKeyUsagePurpose::ServerAuth]
        } else {
            vec![ExtendedKeyUsagePurpose::ClientAuth]
        };
        params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
        params.not_before = opts.not_before;
        params.not_after = opts.not_after;
        params.serial_number = Some(SerialNumber::from(opts.serial));
        let cert = params.signed_by(&key, &self.issuer)?;
        Ok(IssuedCert {
            cert_pem: cert.pem(),
            key_pem: key.serialize_pem(),
            serial: opts.serial,
        })
    }

    /// A CRL revoking the given serial numbers, valid for 30 days.
    pub fn crl(&self, revoked: &[u64]) -> Result<String, PkiError> {
        let now = OffsetDateTime::now_utc();
        let params = CertificateRevocationListParams {
            this_update: now - Duration::hours(1),
            next_update: now + Duration::days(30),
            crl_number: SerialNumber::from(now.unix_timestamp() as u64),
            issuing_distribution_point: None,
            revoked_certs: revoked
                .iter()
                .map(|s| RevokedCertParams {
                    serial_number: SerialNumber::from(*s),
                    revocation_time: now - Duration::minutes(5),
                    reason_code: Some(rcgen::RevocationReason::KeyCompromise),
                    invalidity_date: None,
                })
                .collect(),
            key_identifier_method: KeyIdMethod::Sha256,
        };
        Ok(params.signed_by(&self.issuer)?.pem()?)
    }
}

/// An Ed25519 key pair for signing partner tokens: (private PKCS#8 PEM, public SPKI PEM).
pub fn generate_jwt_keypair() -> Result<(String, String), PkiError> {
    let key = KeyPair::generate_for(&PKCS_ED25519)?;
    Ok((key.serialize_pem(), key.public_key_pem()))
}

/// Paths of the dev PKI layout that docs and scripts rely on.
#[derive(Clone, Debug)]
pub struct DevPkiLayout {
    pub dir: PathBuf,
}

impl DevPkiLayout {
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        DevPkiLayout { dir: dir.into() }
    }
    pub fn ca_cert(&self) -> PathBuf {
        self.dir.join("ca.pem")
    }
    pub fn ca_key(&self) -> PathBuf {
        self.dir.join("ca.key")
    }
    pub fn crl(&self) -> PathBuf {
        self.dir.join("crl.pem")
    }
    pub fn gateway_cert(&self) -> PathBuf {
        self.dir.join("gateway.pem")
    }
    pub fn gateway_key(&self) -> PathBuf {
        self.dir.join("gateway.key")
    }
    pub fn partner_cert(&self, name: &str) -> PathBuf {
        self.dir.join("partners").join(format!("{name}.pem"))
    }
    pub fn partner_key(&self, name: &str) -> PathBuf {
        self.dir.join("partners").join(format!("{name}.key"))
    }
    pub fn partner_jwt_key(&self, name: &str) -> PathBuf {
        self.dir.join("partners").join(format!("{name}-jwt.key"))
    }
    pub fn partner_jwt_pub(&self, name: &str) -> PathBuf {
        self.dir.join("partners").join(format!("{name}-jwt.pub"))
    }
    /// True when the CA and the gateway certificate exist.
    pub fn exists(&self) -> bool {
        self.ca_cert().exists() && self.gateway_cert().exists()
    }
    /// Loads the CA for issuing more certificates.
    pub fn load_ca(&self) -> Result<Ca, PkiError> {
        Ca::from_pem(&read(&self.ca_cert())?, &read(&self.ca_key())?)
    }

    /// Generates the whole dev PKI; refuses to overwrite unless `force`.
    pub fn generate(&self, force: bool) -> Result<(), PkiError> {
        if self.exists() && !force {
            return Err(PkiError::Invalid(format!(
                "{} already holds a PKI (use --force to replace it)",
                self.dir.display()
            )));
        }
        let ca = Ca::generate("vhgate development convenant CA")?;
        write_public(&self.ca_cert(), ca.cert_pem.as_bytes())?;
        write_key(&self.ca_key(), ca.key_pem().as_bytes())?;
        write_public(&self.crl(), ca.crl(&[])?.as_bytes())?;
        let gw = ca.issue_server(&["localhost", "127.0.0.1"])?;
        write_public(&self.gateway_cert(), gw.cert_pem.as_bytes())?;
        write_key(&self.gateway_key(), gw.key_pem.as_bytes())?;
        for p in DEMO_PARTNERS {
            let c = ca.issue_client(p.oin, p.display_name, &ClientCertOptions::default())?;
            write_public(&self.partner_cert(p.name), c.cert_pem.as_bytes())?;
            write_key(&self.partner_key(p.name), c.key_pem.as_bytes())?;
            let (jwt_key, jwt_pub) = generate_jwt_keypair()?;
            write_key(&self.partner_jwt_key(p.name), jwt_key.as_bytes())?;
            write_public(&self.partner_jwt_pub(p.name), jwt_pub.as_bytes())?;
        }
        Ok(())
    }
}
