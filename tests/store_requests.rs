//! Access requests in the store on both backends: several compare-and-set changes committed
//! together with their audit events, or none of them.

mod store_support;

use chrono::Utc;
use grantdesk::domain::audit::{AuditEvent, Outcome};
use grantdesk::domain::catalog::{Catalog, Directory};
use grantdesk::domain::request::AccessRequest;
use grantdesk::store::StoreError;
use store_support::TestDb;

/// Everyone exists; `approvers` has one member.
struct Dir;

impl Directory for Dir {
    fn user_exists(&self, _: &str) -> bool {
        true
    }
    fn group_exists(&self, _: &str) -> bool {
        true
    }
    fn app_exists(&self, _: &str) -> bool {
        true
    }
    fn manager_of(&self, _: &str) -> Option<String> {
        None
    }
    fn group_owners(&self, _: &str) -> Vec<String> {
        Vec::new()
    }
    fn group_members(&self, _: &str) -> Vec<String> {
        vec!["alex@example.com".into()]
    }
    fn groups_of(&self, _: &str) -> Vec<String> {
        Vec::new()
    }
}

fn event(action: &str, id: &str) -> AuditEvent {
    AuditEvent::new("dana.desk", action, Outcome::Success)
        .object("zoom-users")
        .details(serde_json::json!({"access_request": id}))
}

async fn changes_commit_together_with_their_audit_events_or_not_at_all(db: &TestDb) {
    let store = db.open().await;
    let toml: toml::Value = toml::from_str(
        "[[entry]]\nname = \"zoom-users\"\ngroup = \"zoom-users\"\nroutes = [\"okta\"]\napproval = [{ approver = \"group:approvers\" }]\n",
    )
    .unwrap();
    let entry = Catalog::from_toml(&toml).unwrap().entries.remove(0);
    let ids: Vec<String> = (0..3).map(|i| format!("AR-TEST000{i}")).collect();
    for (i, id) in ids.iter().enumerate() {
        let who = format!("user{i}@example.com");
        let r =
            AccessRequest::raise(id.clone(), &entry, &who, "dana@example.com", None, "calls", None, Utc::now(), &Dir)
                .unwrap();
        store.insert_access_request(&r, &event("access_request.create", id)).await.unwrap();
    }
    let before = store.audit_count().await.unwrap();
    let refs: Vec<&str> = ids.iter().map(String::as_str).collect();

    // The second is left as it is; the others change, with one audit event each, in order.
    let changed = store
        .change_access_requests(&refs, |r| {
            if r.id == "AR-TEST0001" {
                return None;
            }
            r.justification = "calls, proved".into();
            Some(event("access_request.update", &r.id))
        })
        .await
        .unwrap();
    assert_eq!(changed.iter().map(|c| c.written).collect::<Vec<_>>(), [true, false, true]);
    let seqs: Vec<Option<u64>> = changed.iter().map(|c| c.audit.as_ref().map(|a| a.seq)).collect();
    assert_eq!(seqs, [Some(before + 1), None, Some(before + 2)]);
    assert_eq!(changed[0].audit.as_ref().unwrap().details_json()["access_request"], "AR-TEST0000");
    assert_eq!(store.audit_count().await.unwrap(), before + 2);
    let versions = |s: &grantdesk::store::Store| {
        let s = s.clone();
        let ids = ids.clone();
        async move {
            let mut v = Vec::new();
            for id in &ids {
                let r = s.access_request(id).await.unwrap().unwrap();
                v.push((r.version, r.request.justification));
            }
            v
        }
    };
    assert_eq!(
        versions(&store).await,
        [(2, "calls, proved".to_string()), (1, "calls".to_string()), (2, "calls, proved".to_string())]
    );

    // One unknown id: nothing of the batch is written.
    let err = store
        .change_access_requests(&[ids[1].as_str(), "AR-NOSUCH0"], |r| {
            r.justification = "never".into();
            Some(event("access_request.update", &r.id))
        })
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::UnknownRequest(ref id) if id == "AR-NOSUCH0"), "{err}");
    assert_eq!(versions(&store).await[1], (1, "calls".to_string()));
    assert_eq!(store.audit_count().await.unwrap(), before + 2);
    assert!(store.verify_audit(None).await.unwrap().result.is_ok());
}

backend_tests!(changes_commit_together_with_their_audit_events_or_not_at_all);
