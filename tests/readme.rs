//! The configuration shown in the README is the real one: it parses (unknown keys are errors)
//! and equals the defaults it claims to show.

#[test]
fn readme_configuration_is_the_default() {
    let readme =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md")).expect("README");
    let block = readme
        .split("```toml\n")
        .nth(1)
        .and_then(|rest| rest.split("```").next())
        .expect("a toml block in the README");
    let shown: vhgate::config::Config = toml::from_str(block).expect("README configuration parses");
    shown.validate().expect("README configuration is valid");
    assert_eq!(
        toml::to_string(&shown).expect("serialise"),
        toml::to_string(&vhgate::config::Config::default()).expect("serialise"),
        "the README shows other values than the defaults"
    );
}
