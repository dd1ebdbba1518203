//! The Okta half of the seeded world: users for every person, groups (catalog, approver,
//! department, location and team groups), memberships, apps with their assignments, MFA factors,
//! a System Log history and the OIG catalog, conditions and past requests.
//!
//! Everything derives from the people list, the seed and the epoch; randomness comes from the
//! Okta streams 10..=19 of ChaCha8 so ServiceNow's data never shifts ours.

use std::collections::{BTreeMap, BTreeSet};

use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;

use super::model::*;
use crate::emulator::servicenow::seed::access;
use crate::emulator::world::{Department, Employment, People, Persona, Scale, WorldSpec};

/// Catalog groups of WORLD.md, in the order their ids are made.
pub const CATALOG_GROUPS: [&str; 6] =
    ["zoom-users", "slack-guests", "github-engineering", "aws-prod-readonly", "aws-prod-admin", "finance-netsuite"];

/// Well-known indices into the world's vectors.
#[derive(Debug, Clone, Default)]
pub struct Named {
    pub everyone: usize,
    /// Catalog groups, by [`CATALOG_GROUPS`] order.
    pub catalog: [usize; 6],
    pub it_approvers: usize,
    pub security_approvers: usize,
    /// Department groups by `Department::ALL` order.
    pub departments: [usize; 6],
    pub workday: usize,
    pub salesforce: usize,
    pub github: usize,
    pub aws: usize,
    pub slack: usize,
    pub zoom: usize,
    pub netsuite: usize,
}

/// One grant or removal of catalog access before the epoch, replayed into the memberships and
/// the System Log.
#[derive(Debug, Clone, Copy)]
struct GrantChange {
    ms: i64,
    add: bool,
    user: usize,
    scope: Scope,
    actor: GrantActor,
    /// Whether Okta logged it (a removal while another grant still holds the access is not one).
    logged: bool,
}

/// Who made a grant: OIG's fulfilment, or a person in the Okta admin console.
#[derive(Debug, Clone, Copy)]
enum GrantActor {
    AccessRequests,
    User(usize),
}

/// Counts the world is built to.
struct Sizes {
    groups: usize,
    orphans: usize,
    /// Filler-group memberships per user, in percent.
    filler_per_user: usize,
}

fn sizes(scale: Scale) -> Sizes {
    match scale {
        Scale::Demo => Sizes { groups: 80, orphans: 3, filler_per_user: 200 },
        Scale::Large => Sizes { groups: 3000, orphans: 50, filler_per_user: 160 },
    }
}

/// The built world, before it is wrapped in the emulator's state.
pub struct Built {
    pub users: Vec<User>,
    pub groups: Vec<Group>,
    pub apps: Vec<App>,
    pub idx: Indexes,
    pub logs: Vec<LogEvent>,
    pub sequences: Vec<Sequence>,
    pub conditions: Vec<Condition>,
    pub entries: Vec<Entry>,
    pub requests: Vec<Request>,
    pub named: Named,
    pub orphans: Vec<(usize, usize)>,
    /// Apps whose OIG settings allow requests on behalf of others (index → only direct reports).
    pub on_behalf_only_reports: Vec<bool>,
}

fn rng_for(spec: &WorldSpec, stream: u64) -> ChaCha8Rng {
    let mut rng = ChaCha8Rng::seed_from_u64(spec.seed);
    rng.set_stream(stream);
    rng
}

/// Builds the Okta world.
pub fn build(spec: &WorldSpec, people: &People) -> Built {
    let epoch = spec.epoch.timestamp();
    let sz = sizes(spec.scale);
    let n = people.people.len();

    // --- users (stream 10) ---------------------------------------------------------------
    let mut rng = rng_for(spec, 10);
    let ids: Vec<String> = (0..n).map(|i| okta_id("00u", i as u64, &mut rng)).collect();
    let mut users = Vec::with_capacity(n);
    for (i, p) in people.people.iter().enumerate() {
        let hired = p.hired.timestamp().min(epoch - 86_400);
        let created = hired - rng.random_range(86_400..14 * 86_400);
        let roll = rng.random_range(0..1000u32);
        let mut status = match roll {
            0..=9 => Status::Staged,
            10..=19 => Status::Provisioned,
            20..=29 => Status::Recovery,
            30..=41 => Status::PasswordExpired,
            42..=53 => Status::LockedOut,
            54..=67 => Status::Suspended,
            68..=87 => Status::Deprovisioned,
            _ => Status::Active,
        };
        if p.employment == Employment::Contractor && p.contract_end.is_some_and(|e| e.timestamp() < epoch) {
            status = Status::Deprovisioned;
        }
        if let Some(persona) = p.persona {
            status = if persona == Persona::Riley { Status::LockedOut } else { Status::Active };
        }
        let changed_ago = rng.random_range(3_600..30 * 86_400);
        let last_login_ago = rng.random_range(600..7 * 86_400);
        users.push(User {
            id: ids[i].clone(),
            status,
            created,
            activated: None,
            status_changed: None,
            last_login: None,
            last_updated: created,
            password_changed: None,
            profile: Profile {
                first_name: p.first_name.clone(),
                last_name: p.last_name.clone(),
                login: p.email.clone(),
                email: p.email.clone(),
                title: p.title.clone(),
                department: p.department.name().to_string(),
                division: division(p.department).to_string(),
                user_type: match p.employment {
                    Employment::Employee => "Employee".into(),
                    Employment::Contractor => "Contractor".into(),
                },
                employee_number: format!("{:06}", 100_000 + i),
                mobile_phone: p.phone.clone(),
                city: p.location.to_string(),
                manager_id: p.manager.map(|m| ids[m].clone()),
                manager: p.manager.map(|m| people.people[m].email.clone()),
                cost_center: format!(
                    "CC-{}",
                    1000 + Department::ALL.iter().position(|d| *d == p.department).unwrap_or(0) * 100
                ),
                contract_end: p.contract_end.map(|t| t.timestamp()),
            },
            factors: Vec::new(),
        });
        let u = users.last_mut().expect("just pushed");
        set_status_times(u, status, epoch, changed_ago, last_login_ago);
    }
    // Every lifecycle status is represented at every scale: fill any gap from the tail.
    for (k, st) in Status::ALL.iter().enumerate() {
        if !users.iter().any(|u| u.status == *st) {
            let i = n - 1 - k;
            let (c, l) = (rng.random_range(3_600..30 * 86_400), rng.random_range(600..86_400));
            set_status_times(&mut users[i], *st, epoch, c, l);
            users[i].status = *st;
        }
    }
    // Riley locked out 45 minutes before the epoch.
    {
        let riley = &mut users[Persona::Riley.index()];
        riley.status_changed = Some(epoch - 45 * 60);
        riley.last_updated = epoch - 45 * 60;
    }

    // --- factors (stream 14) -------------------------------------------------------------
    let mut frng = rng_for(spec, 14);
    let mut factor_seq = 0u64;
    for u in users.iter_mut() {
        if matches!(u.status, Status::Staged | Status::Provisioned) {
            continue;
        }
        let base = u.activated.unwrap_or(u.created) + frng.random_range(0..3_600);
        let mut add =
            |kind: &'static str, rng: &mut ChaCha8Rng, seq: &mut u64, profile: Vec<(&'static str, String)>| {
                let (prefix, provider, vendor) = match kind {
                    "push" => ("opf", "OKTA", "OKTA"),
                    "token:software:totp" => ("ost", "GOOGLE", "GOOGLE"),
                    "sms" => ("mbl", "OKTA", "OKTA"),
                    "email" => ("emf", "OKTA", "OKTA"),
                    _ => ("fwf", "FIDO", "FIDO"),
                };
                *seq += 1;
                u.factors.push(Factor {
                    id: okta_id(prefix, *seq, rng),
                    factor_type: kind,
                    provider,
                    vendor_name: vendor,
                    status: "ACTIVE",
                    created: base,
                    last_updated: base,
                    profile,
                });
            };
        add(
            "push",
            &mut frng,
            &mut factor_seq,
            vec![
                ("credentialId", u.profile.login.clone()),
                ("deviceType", "SmartPhone_IPhone".into()),
                ("name", format!("{}'s iPhone", u.profile.first_name)),
                ("platform", "IOS".into()),
                ("version", "17.4".into()),
            ],
        );
        let webauthn_id = format!("{:032x}", frng.random::<u128>());
        match frng.random_range(0..4u32) {
            0 => add("sms", &mut frng, &mut factor_seq, vec![("phoneNumber", u.profile.mobile_phone.clone())]),
            1 => {
                add("token:software:totp", &mut frng, &mut factor_seq, vec![("credentialId", u.profile.login.clone())])
            }
            2 => add(
                "webauthn",
                &mut frng,
                &mut factor_seq,
                vec![("credentialId", webauthn_id.clone()), ("authenticatorName", "YubiKey 5 NFC".into())],
            ),
            _ => {}
        }
    }

    // --- apps (stream 13) ----------------------------------------------------------------
    let mut arng = rng_for(spec, 13);
    let app_specs: [(&str, &str, &str); 9] = [
        ("workday", "Workday", "SAML_2_0"),
        ("salesforce", "Salesforce", "SAML_2_0"),
        ("github", "GitHub Enterprise", "SAML_2_0"),
        ("amazon_aws", "AWS", "SAML_2_0"),
        ("slack", "Slack", "SAML_2_0"),
        ("zoomus", "Zoom", "SAML_2_0"),
        ("netsuite", "NetSuite", "SAML_2_0"),
        ("google", "Google Workspace", "SAML_2_0"),
        ("bookmark", "IT Help Center", "BOOKMARK"),
    ];
    let app_created = epoch - 900 * 86_400;
    let mut apps: Vec<App> = app_specs
        .iter()
        .enumerate()
        .map(|(i, (name, label, mode))| {
            let created = app_created + i as i64 * 86_400 * 3;
            App {
                id: okta_id("0oa", i as u64, &mut arng),
                name,
                label,
                sign_on_mode: mode,
                created,
                last_updated: created + arng.random_range(0..200) * 86_400,
                owners: Vec::new(),
                groups: BTreeMap::new(),
                direct: BTreeMap::new(),
                via_groups: BTreeMap::new(),
            }
        })
        .collect();
    let named_apps = (0usize, 1usize, 2usize, 3usize, 4usize, 5usize, 6usize);
    let alex = Persona::Alex.index();
    apps[named_apps.1].owners = vec![alex];

    // --- groups (stream 11) --------------------------------------------------------------
    let mut grng = rng_for(spec, 11);
    let mut groups: Vec<Group> = Vec::with_capacity(sz.groups);
    let head_of = |d: Department| -> usize {
        people
            .people
            .iter()
            .position(|p| {
                p.department == d
                    && p.manager.is_some_and(|m| people.people[m].manager.is_none())
                    && p.persona.is_none()
            })
            .unwrap_or(0)
    };
    let new_group = |groups: &mut Vec<Group>, rng: &mut ChaCha8Rng, kind, name: String, description: String| {
        let seq = groups.len() as u64;
        let created = epoch - rng.random_range(200..1200) * 86_400;
        groups.push(Group {
            id: okta_id("00g", seq, rng),
            kind,
            name,
            description,
            created,
            last_updated: created + rng.random_range(0..100) * 86_400,
            last_membership_updated: created,
            source_app: None,
            owners: Vec::new(),
        });
        groups.len() - 1
    };
    let everyone = new_group(
        &mut groups,
        &mut grng,
        GroupType::BuiltIn,
        "Everyone".into(),
        "All users in your organization".into(),
    );
    let catalog_desc = [
        "Zoom licence",
        "Slack guest accounts for contractors",
        "GitHub Enterprise: Example Corp engineering organisation",
        "AWS production: read-only console and API access",
        "AWS production: administrator access (time-bound)",
        "NetSuite: finance users",
    ];
    let mut catalog = [0usize; 6];
    for (k, name) in CATALOG_GROUPS.iter().enumerate() {
        catalog[k] = new_group(&mut groups, &mut grng, GroupType::Okta, name.to_string(), catalog_desc[k].into());
        groups[catalog[k]].owners = vec![alex];
    }
    groups[catalog[5]].owners = vec![head_of(Department::Finance)];
    let it_approvers = new_group(
        &mut groups,
        &mut grng,
        GroupType::Okta,
        "it-approvers-standard".into(),
        "Approvers of standard access requests".into(),
    );
    let security_approvers = new_group(
        &mut groups,
        &mut grng,
        GroupType::Okta,
        "security-approvers".into(),
        "Second-step approvers for high-risk entitlements".into(),
    );
    let mut departments = [0usize; 6];
    for (k, d) in Department::ALL.iter().enumerate() {
        departments[k] = new_group(
            &mut groups,
            &mut grng,
            GroupType::App,
            format!("dept-{}", d.name().to_ascii_lowercase()),
            format!("{} department (imported from Workday)", d.name()),
        );
        groups[departments[k]].source_app = Some(named_apps.0);
    }
    const LOCS: [&str; 6] = ["London", "New York", "San Francisco", "Berlin", "Singapore", "Remote"];
    let mut locations = [0usize; 6];
    for (k, l) in LOCS.iter().enumerate() {
        locations[k] = new_group(
            &mut groups,
            &mut grng,
            GroupType::Okta,
            format!("office-{}", l.to_ascii_lowercase().replace(' ', "-")),
            format!("People based in {l}"),
        );
    }
    const WORDS: [&str; 24] = [
        "atlas", "beacon", "comet", "delta", "ember", "falcon", "glacier", "harbor", "iris", "juniper", "kestrel",
        "lumen", "meridian", "nova", "orbit", "pulse", "quartz", "relay", "summit", "tundra", "umbra", "vertex",
        "willow", "zephyr",
    ];
    const KINDS: [(&str, &str); 5] = [
        ("proj", "Project team"),
        ("dl", "Distribution list"),
        ("role", "Role group"),
        ("team", "Team"),
        ("vpn", "VPN profile"),
    ];
    let mut f = 0usize;
    while groups.len() < sz.groups {
        let (kind, desc) = KINDS[f % KINDS.len()];
        let word = WORDS[(f / KINDS.len()) % WORDS.len()];
        let round = f / (KINDS.len() * WORDS.len());
        let name = if round == 0 { format!("{kind}-{word}") } else { format!("{kind}-{word}-{round}") };
        new_group(&mut groups, &mut grng, GroupType::Okta, name, format!("{desc} {word}"));
        f += 1;
    }
    let filler_start = locations[5] + 1;

    // --- memberships (stream 12) ---------------------------------------------------------
    let mut mrng = rng_for(spec, 12);
    let mut members: Vec<BTreeSet<usize>> = vec![BTreeSet::new(); groups.len()];
    for (i, p) in people.people.iter().enumerate() {
        members[everyone].insert(i);
        let d = Department::ALL.iter().position(|d| *d == p.department).unwrap_or(0);
        members[departments[d]].insert(i);
        let l = LOCS.iter().position(|l| *l == p.location).unwrap_or(5);
        members[locations[l]].insert(i);
        if groups.len() > filler_start {
            let extra = usize::from(mrng.random_range(0..100usize) < sz.filler_per_user % 100);
            for _ in 0..sz.filler_per_user / 100 + extra {
                let g = mrng.random_range(filler_start..groups.len());
                members[g].insert(i);
            }
        }
    }
    // Approver groups: the same people the ServiceNow side asks for approval.
    let dana = Persona::Dana.index();
    members[it_approvers].extend(access::it_approvers_standard(people));
    members[security_approvers].extend(access::security_approvers(people));

    // The access-request history both halves share: who has asked for which catalog entry.
    let history = access::history(spec, people);
    let mut asked: BTreeSet<(usize, &'static str)> = BTreeSet::new();
    let mut anyone_asked: BTreeSet<usize> = BTreeSet::new();
    for r in &history {
        asked.insert((r.requested_for, r.entry.name));
        anyone_asked.insert(r.requested_for);
    }
    // Licence groups granted long ago (before the System Log's retention), never to anyone whose
    // request for the same group is on record. The sensitive catalog groups hold only what the
    // history granted and the orphans, so nothing else in them lacks a request.
    let active_like = |i: usize| !matches!(users[i].status, Status::Deprovisioned | Status::Staged);
    for p in people.people.iter().filter(|p| p.persona.is_none() && active_like(p.index)) {
        let i = p.index;
        let roll = |rng: &mut ChaCha8Rng, pct: u32| rng.random_range(0..100u32) < pct;
        if roll(&mut mrng, 30) && !asked.contains(&(i, "zoom-users")) {
            members[catalog[0]].insert(i);
        }
        if p.employment == Employment::Contractor && roll(&mut mrng, 50) && !asked.contains(&(i, "slack-guests")) {
            members[catalog[1]].insert(i);
        }
    }
    // Personas: dana and alex use Zoom; casey, a contractor, is a Slack guest.
    for (g, u) in [(catalog[0], dana), (catalog[0], alex), (catalog[1], Persona::Casey.index())] {
        members[g].insert(u);
    }
    // Grants of approved requests, replayed in time order: a membership (or direct assignment)
    // from `granted_at`, removed when a time-bound grant ends before the epoch.
    let iam = access::iam_team(people, spec.scale);
    let mut changes: Vec<GrantChange> = Vec::new();
    for r in history.iter().filter(|r| r.outcome == access::Outcome::Approved) {
        let Some(granted) = r.granted_at.map(|t| t.timestamp()).filter(|t| *t <= epoch) else { continue };
        let scope = match r.entry.kind {
            access::EntryKind::OktaGroup => match CATALOG_GROUPS.iter().position(|g| *g == r.entry.name) {
                Some(k) => Scope::Group(catalog[k]),
                None => continue,
            },
            access::EntryKind::OktaApp => Scope::App,
        };
        let actor = if r.via_oig { GrantActor::AccessRequests } else { GrantActor::User(access::fulfiller(&iam, r)) };
        let user = r.requested_for;
        changes.push(GrantChange { ms: granted * 1000, add: true, user, scope, actor, logged: true });
        if let Some(end) = r.expires_at().map(|t| t.timestamp()).filter(|t| *t <= epoch) {
            changes.push(GrantChange { ms: end * 1000, add: false, user, scope, actor, logged: true });
        }
    }
    changes.sort_by_key(|c| (c.ms, !c.add));
    let mut held: BTreeMap<(usize, Scope), u32> = BTreeMap::new();
    let mut app_grants: Vec<(usize, Secs)> = Vec::new();
    for c in changes.iter_mut() {
        let n = held.entry((c.user, c.scope)).or_insert(0);
        if c.add {
            *n += 1;
        } else {
            *n -= 1;
            // Another approved request still holds the access: nothing is removed.
            c.logged = *n == 0;
        }
        if let Scope::Group(g) = c.scope {
            if *n > 0 {
                members[g].insert(c.user);
            } else {
                members[g].remove(&c.user);
            }
        } else if c.add && *n == 1 {
            app_grants.push((c.user, c.ms / 1000));
        }
    }
    // Orphan grants: members of sensitive catalog groups with no request on record anywhere,
    // chosen among people outside the groups' natural departments so they stand out, and added
    // directly in Okta by a systems administrator.
    let mut orphans = Vec::new();
    let orphan_groups = [catalog[4], catalog[5], catalog[2]];
    let candidates: Vec<usize> = people
        .people
        .iter()
        .filter(|p| {
            p.persona.is_none() && matches!(p.department, Department::Sales | Department::People) && p.manager.is_some()
        })
        .filter(|p| users[p.index].status == Status::Active && !anyone_asked.contains(&p.index))
        .map(|p| p.index)
        .collect();
    let admin = people
        .people
        .iter()
        .rfind(|p| p.persona.is_none() && p.department == Department::It && p.title == "Systems Administrator")
        .map_or(alex, |p| p.index);
    let mut k = 0;
    while orphans.len() < sz.orphans && !candidates.is_empty() && k < sz.orphans * 20 {
        let u = candidates[mrng.random_range(0..candidates.len())];
        let g = orphan_groups[orphans.len() % orphan_groups.len()];
        k += 1;
        if members[g].insert(u) {
            orphans.push((u, g));
            let ms = (epoch - mrng.random_range(86_400..42 * 86_400)) * 1000 + mrng.random_range(0..1000);
            changes.push(GrantChange {
                ms,
                add: true,
                user: u,
                scope: Scope::Group(g),
                actor: GrantActor::User(admin),
                logged: true,
            });
        }
    }
    changes.retain(|c| c.logged);

    // --- app assignments -----------------------------------------------------------------
    let g_assign: [(usize, usize); 9] = [
        (named_apps.0, everyone),
        (7, everyone),
        (8, everyone),
        (named_apps.2, catalog[2]),
        (named_apps.3, catalog[3]),
        (named_apps.3, catalog[4]),
        (named_apps.4, catalog[1]),
        (named_apps.5, catalog[0]),
        (named_apps.6, catalog[5]),
    ];
    for (prio, (a, g)) in g_assign.iter().enumerate() {
        apps[*a].groups.insert(*g, prio as u32);
    }
    let mut au_seq = 0u64;
    for p in people.people.iter().filter(|p| p.department == Department::Sales && active_like(p.index)) {
        if arng.random_range(0..100u32) < 70 && !asked.contains(&(p.index, "salesforce")) {
            au_seq += 1;
            let created = epoch - arng.random_range(40..700) * 86_400;
            apps[named_apps.1].direct.insert(
                p.index,
                AppUser { id: okta_id("0ua", au_seq, &mut arng), created, last_updated: created, external_id: None },
            );
        }
    }

    for (u, at) in app_grants {
        au_seq += 1;
        apps[named_apps.1].direct.insert(
            u,
            AppUser { id: okta_id("0ua", au_seq, &mut arng), created: at, last_updated: at, external_id: None },
        );
    }

    // --- indexes -------------------------------------------------------------------------
    let mut idx = Indexes { members, groups_of: vec![BTreeSet::new(); n], ..Default::default() };
    for (g, set) in idx.members.iter().enumerate() {
        for u in set {
            idx.groups_of[*u].insert(g);
        }
    }
    for (i, u) in users.iter().enumerate() {
        idx.user_by_id.insert(u.id.clone(), i);
        idx.user_by_login.insert(u.profile.login.to_ascii_lowercase(), i);
        idx.users_by_status[u.status.index()].insert(i);
    }
    for (i, g) in groups.iter_mut().enumerate() {
        idx.group_by_id.insert(g.id.clone(), i);
        if let Some(last) = idx.members[i].iter().map(|u| users[*u].created).max() {
            g.last_membership_updated = g.last_membership_updated.max(last);
        }
    }
    for (i, a) in apps.iter_mut().enumerate() {
        idx.app_by_id.insert(a.id.clone(), i);
        let gs: Vec<usize> = a.groups.keys().copied().collect();
        for g in gs {
            for u in &idx.members[g] {
                *a.via_groups.entry(*u).or_insert(0) += 1;
            }
        }
    }

    let named = Named {
        everyone,
        catalog,
        it_approvers,
        security_approvers,
        departments,
        workday: named_apps.0,
        salesforce: named_apps.1,
        github: named_apps.2,
        aws: named_apps.3,
        slack: named_apps.4,
        zoom: named_apps.5,
        netsuite: named_apps.6,
    };

    // --- OIG (stream 16) and history (stream 15) -------------------------------------------
    let mut orng = rng_for(spec, 16);
    let mut lrng = rng_for(spec, 15);
    let mut built = Built {
        users,
        groups,
        apps,
        idx,
        logs: Vec::new(),
        sequences: Vec::new(),
        conditions: Vec::new(),
        entries: Vec::new(),
        requests: Vec::new(),
        named,
        orphans,
        on_behalf_only_reports: Vec::new(),
    };
    seed_oig(&mut built, people, epoch, &mut orng, &history);
    seed_logs(&mut built, epoch, &mut lrng, &changes);
    built
}

fn division(d: Department) -> &'static str {
    match d {
        Department::Engineering => "Product & Engineering",
        Department::Finance | Department::People => "G&A",
        Department::Sales => "Go-to-Market",
        Department::It | Department::Security => "Technology",
    }
}

fn set_status_times(u: &mut User, status: Status, epoch: Secs, changed_ago: i64, last_login_ago: i64) {
    let activated = u.created + 86_400;
    match status {
        Status::Staged => {
            u.activated = None;
            u.status_changed = None;
            u.last_login = None;
            u.password_changed = None;
            u.last_updated = u.created;
        }
        Status::Provisioned => {
            u.activated = Some(activated);
            u.status_changed = Some(activated);
            u.last_login = None;
            u.password_changed = None;
            u.last_updated = activated;
        }
        _ => {
            u.activated = Some(activated);
            u.password_changed = Some((epoch - changed_ago - 40 * 86_400).max(activated));
            u.last_login = Some(epoch - last_login_ago);
            u.status_changed = Some(if status == Status::Active { activated } else { epoch - changed_ago });
            u.last_updated = u.status_changed.unwrap_or(activated).max(u.password_changed.unwrap_or(activated));
        }
    }
}

/// (app, scope, name, requesters, duration, sequence, decision, priority).
type CondSpec = (usize, Scope, &'static str, Requesters, Option<&'static str>, usize, Decision, u32);

/// Sequences, conditions, catalog entries and past requests, with casey's expiring grant.
fn seed_oig(b: &mut Built, people: &People, epoch: Secs, rng: &mut ChaCha8Rng, history: &[access::AccessRequest]) {
    let alex = Persona::Alex.index();
    let sam = Persona::Sam.index();
    let n = &b.named;
    let seq_specs: [(&'static str, &'static str, Vec<Step>); 6] = [
        ("Manager approval", "The requester's manager approves", vec![Step::Manager]),
        ("Manager, then group owner", "Manager approval, then the group owner", vec![Step::Manager, Step::GroupOwner]),
        ("Manager, then security", "Manager approval, then Security", vec![Step::Manager, Step::User(sam)]),
        ("Group owner approval", "The group owner approves", vec![Step::GroupOwner]),
        ("App owner approval", "The app owner approves", vec![Step::AppOwner]),
        ("Standard IT approval", "Any member of it-approvers-standard", vec![Step::AnyOf(n.it_approvers)]),
    ];
    b.sequences = seq_specs
        .into_iter()
        .map(|(name, description, steps)| Sequence { id: hex24(rng), name, description, steps })
        .collect();
    let created = epoch - 400 * 86_400;
    let mut entry_seq = 0u64;
    let mut cond_seq = 0u64;
    let mut top: BTreeMap<usize, usize> = BTreeMap::new();
    let apps_in_catalog = [n.zoom, n.slack, n.github, n.aws, n.salesforce, n.netsuite];
    for a in apps_in_catalog {
        entry_seq += 1;
        let app = &b.apps[a];
        b.entries.push(Entry {
            id: okta_id("cen", entry_seq, rng),
            name: app.label.to_string(),
            description: format!("The {} app", app.label),
            parent: None,
            requestable: a == n.salesforce,
            app: a,
            scope: Scope::App,
        });
        top.insert(a, b.entries.len() - 1);
    }
    let eng = n.departments[0];
    let fin = n.departments[1];
    // (app, group scope or app, name, requesters, duration, sequence, decision, priority)
    let cond_specs: Vec<CondSpec> = vec![
        (n.zoom, Scope::Group(n.catalog[0]), "Zoom licence", Requesters::Everyone, None, 5, Decision::Approve, 0),
        (n.slack, Scope::Group(n.catalog[1]), "Slack guest", Requesters::Everyone, None, 5, Decision::Approve, 0),
        (
            n.github,
            Scope::Group(n.catalog[2]),
            "Engineering GitHub",
            Requesters::Groups(vec![eng]),
            None,
            0,
            Decision::Approve,
            0,
        ),
        (
            n.github,
            Scope::Group(n.catalog[2]),
            "GitHub outside Engineering",
            Requesters::Everyone,
            None,
            0,
            Decision::Deny,
            1,
        ),
        (
            n.aws,
            Scope::Group(n.catalog[3]),
            "Production read-only",
            Requesters::Everyone,
            Some("PT8H"),
            1,
            Decision::Approve,
            0,
        ),
        (
            n.aws,
            Scope::Group(n.catalog[4]),
            "Production admin (on-call)",
            Requesters::Groups(vec![eng]),
            Some("PT8H"),
            2,
            Decision::Approve,
            0,
        ),
        (
            n.aws,
            Scope::Group(n.catalog[4]),
            "Production admin outside Engineering",
            Requesters::Everyone,
            Some("PT4H"),
            2,
            Decision::Deny,
            1,
        ),
        (n.salesforce, Scope::App, "Salesforce user", Requesters::Everyone, None, 4, Decision::Approve, 0),
        (
            n.netsuite,
            Scope::Group(n.catalog[5]),
            "Finance NetSuite",
            Requesters::Groups(vec![fin]),
            Some("P90D"),
            3,
            Decision::Approve,
            0,
        ),
        (
            n.netsuite,
            Scope::Group(n.catalog[5]),
            "NetSuite outside Finance",
            Requesters::Everyone,
            Some("P90D"),
            3,
            Decision::Deny,
            1,
        ),
    ];
    for (app, scope, name, requesters, duration, sequence, decision, priority) in cond_specs {
        let entry = match scope {
            Scope::App => top[&app],
            Scope::Group(g) => match b.entries.iter().position(|e| e.scope == scope && e.app == app) {
                Some(e) => e,
                None => {
                    entry_seq += 1;
                    let gname = b.groups[g].name.clone();
                    b.entries.push(Entry {
                        id: okta_id("cen", entry_seq, rng),
                        name: gname.clone(),
                        description: b.groups[g].description.clone(),
                        parent: Some(top[&app]),
                        requestable: true,
                        app,
                        scope,
                    });
                    b.entries.len() - 1
                }
            },
        };
        cond_seq += 1;
        b.conditions.push(Condition {
            id: okta_id("rco", cond_seq, rng),
            app,
            name: name.to_string(),
            description: format!("{name}: requests for {}", b.entries[entry].name),
            priority,
            requesters,
            scope,
            duration,
            sequence,
            decision,
            created,
            entry,
        });
    }
    b.on_behalf_only_reports = (0..b.apps.len()).map(|a| a == n.netsuite).collect();
    let _ = alex;

    // The history's requests raised in OIG (casey's on-call grant among them), in creation
    // order. Their grants are already in the memberships; here they become OIG records.
    let mut routed: Vec<&access::AccessRequest> = history.iter().filter(|r| r.via_oig).collect();
    routed.sort_by_key(|r| (r.opened_at, r.id));
    for r in routed {
        let entry = match r.entry.kind {
            access::EntryKind::OktaGroup => match CATALOG_GROUPS.iter().position(|g| *g == r.entry.name) {
                Some(k) => entry_for_group(b, b.named.catalog[k]),
                None => continue,
            },
            access::EntryKind::OktaApp => top[&b.named.salesforce],
        };
        let who = r.requested_for;
        // The condition the request was raised under: the one that matches the requester today,
        // unless that one always denies and the approvers granted it anyway, in which case the
        // entry's granting condition (the policy in force when it was decided).
        let matched = match_condition(b, entry, who);
        let cond = match matched {
            Some(c) if b.conditions[c].decision == Decision::Approve || r.outcome == access::Outcome::Rejected => c,
            _ => match b.conditions.iter().position(|c| c.entry == entry && c.decision == Decision::Approve) {
                Some(c) => c,
                None => continue,
            },
        };
        let decisions: Vec<DecisionRec> = r
            .steps
            .iter()
            .filter_map(|s| s.decision)
            .map(|(d, user, at)| DecisionRec {
                user,
                approved: d == access::Decision::Approved,
                decided_ms: at.timestamp_millis(),
            })
            .collect();
        let created = r.opened_at.timestamp();
        let resolved =
            (r.outcome != access::Outcome::Pending).then(|| decisions.last().map_or(created, |d| d.decided_ms / 1000));
        let granted = r.granted_at.map(|t| t.timestamp()).filter(|t| *t <= epoch);
        let scheduled = granted.and(r.expires_at().map(|t| t.timestamp()));
        let revoked = scheduled.filter(|t| *t <= epoch);
        let seq = b.requests.len() as u64;
        b.requests.push(Request {
            id: okta_id("req", seq, rng),
            created,
            created_by: Principal::User(r.opened_by),
            last_updated: revoked
                .or(granted)
                .or(resolved)
                .or(decisions.last().map(|d| d.decided_ms / 1000))
                .unwrap_or(created),
            status: match r.outcome {
                access::Outcome::Approved => ReqStatus::Approved,
                access::Outcome::Rejected => ReqStatus::Denied,
                access::Outcome::Pending => ReqStatus::Pending,
            },
            requested_by: Principal::User(r.opened_by),
            requested_for: who,
            entry,
            condition: cond,
            justification: Some(r.justification.clone()),
            resolved,
            grant_status: granted.map(|_| "GRANTED"),
            granted,
            revocation_status: revoked.map(|_| "REVOKED"),
            revoked,
            revocation_scheduled: scheduled,
            decisions,
            permalink_id: seq + 1,
            external_request_id: hex24(rng),
            // Seeded requests still pending wait on a person, not on the emulator's approvers.
            decide_at: None,
        });
    }
    let _ = (people, alex);
}

/// The catalog entry that grants `group`.
pub fn entry_for_group(b: &Built, group: usize) -> usize {
    b.entries.iter().position(|e| e.scope == Scope::Group(group)).unwrap_or(0)
}

/// Highest-priority active condition of `entry` that lets `user` request it.
pub fn match_condition(b: &Built, entry: usize, user: usize) -> Option<usize> {
    condition_for(&b.conditions, &b.idx, entry, user)
}

/// Like [`match_condition`], over the live state's parts.
pub fn condition_for(conditions: &[Condition], idx: &Indexes, entry: usize, user: usize) -> Option<usize> {
    let mut best: Option<usize> = None;
    for (i, c) in conditions.iter().enumerate() {
        if c.entry != entry {
            continue;
        }
        let ok = match &c.requesters {
            Requesters::Everyone => true,
            Requesters::Groups(gs) => gs.iter().any(|g| idx.members[*g].contains(&user)),
        };
        if ok && best.is_none_or(|b| conditions[b].priority > c.priority) {
            best = Some(i);
        }
    }
    best
}

/// Who decides each step of a condition's sequence for `user`.
pub fn approvers_for(b: &Built, people: &People, cond: usize, user: usize) -> Vec<usize> {
    let c = &b.conditions[cond];
    approvers(&b.sequences[c.sequence], c, &b.groups, &b.apps, &b.idx, |u| people.people[u].manager, user)
}

/// Resolves a sequence's steps to users (never the requester themself).
pub fn approvers(
    seq: &Sequence,
    c: &Condition,
    groups: &[Group],
    apps: &[App],
    idx: &Indexes,
    manager_of: impl Fn(usize) -> Option<usize>,
    user: usize,
) -> Vec<usize> {
    let mut out = Vec::new();
    for step in &seq.steps {
        let who = match *step {
            Step::Manager => manager_of(user),
            Step::GroupOwner => match c.scope {
                Scope::Group(g) => groups[g].owners.first().copied(),
                Scope::App => apps[c.app].owners.first().copied(),
            },
            Step::AppOwner => apps[c.app].owners.first().copied(),
            Step::AnyOf(g) => idx.members[g].iter().copied().find(|u| *u != user),
            Step::User(u) => Some(u),
        };
        if let Some(w) = who.filter(|w| *w != user) {
            out.push(w);
        }
    }
    if out.is_empty() {
        out.push(Persona::Alex.index());
    }
    out
}

/// Parses the ISO-8601 durations OIG uses (`PT4H`, `P90D`, `P2W`) into seconds.
pub fn iso_duration_secs(s: &str) -> Option<i64> {
    let rest = s.strip_prefix('P')?;
    let (date, time) = match rest.split_once('T') {
        Some((d, t)) => (d, t),
        None => (rest, ""),
    };
    let mut total = 0i64;
    let mut num = String::new();
    for c in date.chars() {
        if c.is_ascii_digit() {
            num.push(c);
        } else {
            let v: i64 = num.parse().ok()?;
            num.clear();
            total += v * match c {
                'Y' => 365 * 86_400,
                'M' => 30 * 86_400,
                'W' => 7 * 86_400,
                'D' => 86_400,
                _ => return None,
            };
        }
    }
    for c in time.chars() {
        if c.is_ascii_digit() {
            num.push(c);
        } else {
            let v: i64 = num.parse().ok()?;
            num.clear();
            total += v * match c {
                'H' => 3_600,
                'M' => 60,
                'S' => 1,
                _ => return None,
            };
        }
    }
    (num.is_empty() && total > 0).then_some(total)
}

/// The System Log history: sign-ins, riley's lock-out, lifecycle changes, recent catalog grants
/// and every OIG request's events, sorted by time and numbered in that order.
fn seed_logs(b: &mut Built, epoch: Secs, rng: &mut ChaCha8Rng, changes: &[GrantChange]) {
    let mut ev: Vec<LogEvent> = Vec::new();
    let user_actor = |b: &Built, u: usize| Actor {
        id: b.users[u].id.clone(),
        kind: "User",
        alternate_id: b.users[u].profile.login.clone(),
        display_name: format!("{} {}", b.users[u].profile.first_name, b.users[u].profile.last_name),
    };
    let user_target = |b: &Built, u: usize| Target {
        id: b.users[u].id.clone(),
        kind: "User",
        alternate_id: b.users[u].profile.login.clone(),
        display_name: format!("{} {}", b.users[u].profile.first_name, b.users[u].profile.last_name),
    };
    let group_target = |b: &Built, g: usize| Target {
        id: b.groups[g].id.clone(),
        kind: "UserGroup",
        alternate_id: "unknown".into(),
        display_name: b.groups[g].name.clone(),
    };
    let push = |ev: &mut Vec<LogEvent>,
                rng: &mut ChaCha8Rng,
                ms: i64,
                event_type: &'static str,
                msg: &'static str,
                actor: Actor,
                targets: Vec<Target>,
                result: &'static str,
                reason: Option<&str>| {
        ev.push(LogEvent {
            seq: 0,
            uuid: uuid_from(rng),
            published_ms: ms,
            event_type,
            display_message: msg,
            severity: if result == "FAILURE" { "WARN" } else { "INFO" },
            actor,
            targets,
            result,
            reason: reason.map(String::from),
            request_id: format!("{:032x}", rng.random::<u128>()),
            request_uri: None,
            ip: "198.51.100.23",
            transaction_type: "WEB",
        });
    };
    let riley = Persona::Riley.index();
    let lock = epoch - 45 * 60;
    for k in 0..5i64 {
        let t = lock - (5 - k) * 40;
        push(
            &mut ev,
            rng,
            t * 1000 + 117,
            "user.session.start",
            "User login to Okta",
            user_actor(b, riley),
            vec![],
            "FAILURE",
            Some("INVALID_CREDENTIALS"),
        );
    }
    push(
        &mut ev,
        rng,
        lock * 1000 + 412,
        "user.account.lock",
        "Max sign in attempts exceeded",
        user_actor(b, riley),
        vec![user_target(b, riley)],
        "SUCCESS",
        Some("LOCKED_OUT"),
    );
    // Sign-ins for the personas and a sample of everyone, over the last week.
    let sample = b.users.len().min(2_000);
    for u in (0..6).chain((6..b.users.len()).step_by((b.users.len() / sample).max(1))) {
        if b.users[u].last_login.is_none() || u == riley {
            continue;
        }
        let t = b.users[u].last_login.unwrap_or(epoch) * 1000 + rng.random_range(0..1000i64);
        push(&mut ev, rng, t, "user.session.start", "User login to Okta", user_actor(b, u), vec![], "SUCCESS", None);
    }
    let dana = Persona::Dana.index();
    for u in 6..b.users.len() {
        let Some(changed) = b.users[u].status_changed else { continue };
        if changed < epoch - 42 * 86_400 {
            continue;
        }
        let (t, m): (&'static str, &'static str) = match b.users[u].status {
            Status::Suspended => ("user.lifecycle.suspend", "Suspend user"),
            Status::LockedOut => ("user.account.lock", "Max sign in attempts exceeded"),
            Status::Deprovisioned => ("user.lifecycle.deactivate", "Deactivate Okta user"),
            Status::PasswordExpired => ("user.account.expire_password", "User password expired by admin"),
            Status::Recovery => ("user.account.reset_password", "Reset password for user"),
            _ => continue,
        };
        let actor = if b.users[u].status == Status::LockedOut { user_actor(b, u) } else { user_actor(b, dana) };
        let jitter = rng.random_range(0..1000);
        push(&mut ev, rng, changed * 1000 + jitter, t, m, actor, vec![user_target(b, u)], "SUCCESS", None);
    }
    // Grants of the access-request history and the orphans, with their removals at expiry.
    let oar = Actor {
        id: "0oaoktaaccessrequests".chars().take(20).collect(),
        kind: "PublicClientApp",
        alternate_id: "Okta Access Requests".into(),
        display_name: "Okta Access Requests".into(),
    };
    for c in changes {
        let actor = match c.actor {
            GrantActor::AccessRequests => oar.clone(),
            GrantActor::User(u) => user_actor(b, u),
        };
        let (event_type, msg, target) = match (c.scope, c.add) {
            (Scope::Group(g), true) => {
                ("group.user_membership.add", "Add user to group membership", group_target(b, g))
            }
            (Scope::Group(g), false) => {
                ("group.user_membership.remove", "Remove user from group membership", group_target(b, g))
            }
            (Scope::App, add) => {
                let app = &b.apps[b.named.salesforce];
                let t = Target {
                    id: app.id.clone(),
                    kind: "AppInstance",
                    alternate_id: app.label.to_string(),
                    display_name: app.label.to_string(),
                };
                if add {
                    ("application.user_membership.add", "Add user to application membership", t)
                } else {
                    ("application.user_membership.remove", "Remove user from application membership", t)
                }
            }
        };
        push(&mut ev, rng, c.ms, event_type, msg, actor, vec![user_target(b, c.user), target], "SUCCESS", None);
    }
    // OIG requests.
    for r in 0..b.requests.len() {
        let req = b.requests[r].clone();
        let rt = Target {
            id: req.id.clone(),
            kind: "AccessRequest",
            alternate_id: req.id.clone(),
            display_name: b.entries[req.entry].name.clone(),
        };
        let who = req.requested_for;
        push(
            &mut ev,
            rng,
            req.created * 1000,
            "access.request.create",
            "Access request created",
            user_actor(b, if let Principal::User(u) = req.requested_by { u } else { who }),
            vec![rt.clone(), user_target(b, who)],
            "SUCCESS",
            None,
        );
        if req.resolved.is_some()
            && let Some(d) = req.decisions.last()
        {
            let reason = if req.status == ReqStatus::Approved { "APPROVED" } else { "DENIED" };
            push(
                &mut ev,
                rng,
                d.decided_ms,
                "access.request.resolve",
                "Access request resolved",
                user_actor(b, d.user),
                vec![rt.clone(), user_target(b, who)],
                "SUCCESS",
                Some(reason),
            );
        }
    }
    ev.sort_by(|a, b| a.published_ms.cmp(&b.published_ms).then(a.uuid.cmp(&b.uuid)));
    for (i, e) in ev.iter_mut().enumerate() {
        e.seq = i as u64 + 1;
    }
    b.logs = ev;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn oig_durations_parse() {
        assert_eq!(iso_duration_secs("PT4H"), Some(4 * 3_600));
        assert_eq!(iso_duration_secs("P90D"), Some(90 * 86_400));
        assert_eq!(iso_duration_secs("P2W"), Some(14 * 86_400));
        assert_eq!(iso_duration_secs("P1DT30M"), Some(86_400 + 1_800));
        assert_eq!(iso_duration_secs("4H"), None);
        assert_eq!(iso_duration_secs("PT"), None);
        assert_eq!(iso_duration_secs("PT4X"), None);
    }

    #[test]
    fn ids_sort_in_creation_order_and_have_okta_shape() {
        let mut rng = ChaCha8Rng::seed_from_u64(1);
        let ids: Vec<String> = (0..5000u64).map(|i| okta_id("00u", i * 37, &mut rng)).collect();
        assert!(ids.windows(2).all(|w| w[0] < w[1]));
        assert!(
            ids.iter()
                .all(|id| id.len() == 20 && id.starts_with("00u") && id.chars().all(|c| c.is_ascii_alphanumeric()))
        );
    }
}
