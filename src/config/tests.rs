use std::collections::HashMap;
use std::io::Write as _;

use super::*;

fn write(contents: &str, mode: u32) -> tempfile::NamedTempFile {
    use std::os::unix::fs::PermissionsExt as _;
    let mut f = tempfile::NamedTempFile::new().unwrap();
    f.write_all(contents.as_bytes()).unwrap();
    std::fs::set_permissions(f.path(), std::fs::Permissions::from_mode(mode)).unwrap();
    f
}

fn load(path: &Path, profile: Option<&str>, env: &[(&str, &str)]) -> Result<Config, ConfigError> {
    let env: HashMap<String, String> = env.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
    Config::load_with_env(&LoadOptions { path: Some(path.to_path_buf()), profile: profile.map(String::from) }, |k| {
        env.get(k).cloned()
    })
}

#[test]
fn malformed_file_names_the_file_and_line() {
    let f = write("[servicenow]\nurl = \"https://x\"\nuser = \n", 0o600);
    let err = load(f.path(), None, &[]).unwrap_err().to_string();
    assert!(err.contains(&f.path().display().to_string()), "{err}");
    assert!(err.contains("line 3"), "{err}");
}

#[test]
fn unknown_key_is_refused_with_its_name() {
    let f = write("[servicenow]\nurl = \"https://x.example\"\npasword = \"x\"\n", 0o600);
    let err = load(f.path(), None, &[]).unwrap_err().to_string();
    assert!(err.contains("pasword"), "{err}");
}

#[test]
fn wrong_type_names_the_key() {
    let f = write("[servicenow]\ntimeout_secs = \"soon\"\n", 0o600);
    let err = load(f.path(), None, &[]).unwrap_err().to_string();
    assert!(err.contains("timeout_secs"), "{err}");
}

#[test]
fn missing_required_value_names_key_env_and_expectation() {
    let f = write("[servicenow]\nurl = \"https://acme.service-now.com\"\n", 0o600);
    let cfg = load(f.path(), None, &[]).unwrap();
    let err = cfg.servicenow().unwrap_err().to_string();
    assert!(err.contains("servicenow.user"), "{err}");
    assert!(err.contains("GRANTDESK_SERVICENOW_USER"), "{err}");
    assert!(err.contains(&f.path().display().to_string()), "{err}");
}

#[test]
fn environment_overrides_file_and_profiles_override_top_level() {
    let f = write(
        r#"
[servicenow]
url = "https://dev.service-now.com"
user = "dana.desk"
password_command = "echo from-command"

[profiles.prod.servicenow]
url = "https://prod.service-now.com"

[profiles.prod.okta]
url = "https://prod.okta.com"
"#,
        0o600,
    );
    let cfg = load(f.path(), Some("prod"), &[("GRANTDESK_OKTA_TOKEN", "tok")]).unwrap();
    let sn = cfg.servicenow().unwrap();
    assert_eq!(sn.url.as_str(), "https://prod.service-now.com/");
    match sn.auth {
        ServiceNowAuth::Basic { user, password } => {
            assert_eq!(user, "dana.desk");
            assert_eq!(password.expose(), "from-command");
        }
        other => panic!("unexpected {other:?}"),
    }
    let okta = cfg.okta().unwrap();
    assert_eq!(okta.url.host_str(), Some("prod.okta.com"));
    assert!(matches!(okta.auth, OktaAuth::Ssws(ref t) if t.expose() == "tok"));

    let cfg = load(f.path(), None, &[("GRANTDESK_SERVICENOW_URL", "https://env.service-now.com")]).unwrap();
    assert_eq!(cfg.servicenow().unwrap().url.host_str(), Some("env.service-now.com"));
}

#[test]
fn unknown_profile_lists_the_defined_ones() {
    let f = write("[profiles.test.servicenow]\nurl = \"https://t.example\"\n", 0o600);
    let err = load(f.path(), Some("prod"), &[]).unwrap_err().to_string();
    assert!(err.contains("`prod`") && err.contains("test"), "{err}");
}

#[test]
fn failing_secret_command_is_reported_without_the_secret() {
    let f = write(
        "[servicenow]\nurl = \"https://x.example\"\nuser = \"u\"\npassword_command = \"echo oops >&2; exit 3\"\n",
        0o600,
    );
    let err = load(f.path(), None, &[]).unwrap().servicenow().unwrap_err().to_string();
    assert!(err.contains("servicenow.password_command") && err.contains("oops"), "{err}");
}

#[test]
fn world_readable_file_with_secret_warns() {
    let f = write("[okta]\nurl = \"https://o.example\"\ntoken = \"secret\"\n", 0o644);
    let cfg = load(f.path(), None, &[]).unwrap();
    assert_eq!(cfg.warnings.len(), 1);
    assert!(cfg.warnings[0].contains("chmod 600"));
    assert!(!cfg.warnings[0].contains("secret\""));
    let f = write("[okta]\nurl = \"https://o.example\"\ntoken = \"secret\"\n", 0o600);
    assert!(load(f.path(), None, &[]).unwrap().warnings.is_empty());
    let f = write("[okta]\nurl = \"https://o.example\"\n", 0o644);
    assert!(load(f.path(), None, &[]).unwrap().warnings.is_empty());
}

#[test]
fn secrets_never_print() {
    let s = Secret::new("hunter2".into());
    assert_eq!(format!("{s} {s:?}"), "*** Secret(***)");
    let f = write("[servicenow]\nurl = \"https://x.example\"\nuser = \"u\"\npassword = \"hunter2\"\n", 0o600);
    let cfg = load(f.path(), None, &[]).unwrap().servicenow().unwrap();
    assert!(!format!("{cfg:?}").contains("hunter2"));
}

#[test]
fn bad_url_is_explained() {
    let f = write("[servicenow]\nurl = \"acme\"\nuser = \"u\"\npassword = \"p\"\n", 0o600);
    let err = load(f.path(), None, &[]).unwrap().servicenow().unwrap_err().to_string();
    assert!(err.contains("servicenow.url") && err.contains("not a URL"), "{err}");
}
