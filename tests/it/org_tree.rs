//! The walk of the organization's units (`login_alert::org_tree`) against moto: it finds every
//! account below the root with the units above it, and lists the units side by side rather than one
//! after another, so an organization's size adds requests, not round trips in a row.
//!
//! The shape is measured on the requests themselves (an interceptor notes when each is sent and
//! when its answer is back), never on time: the longest chain of requests each sent after the
//! previous one's answer is the round trips no concurrency overlapped.
//!
//! moto pages ListAccountsForParent and ListOrganizationalUnitsForParent by 20 as AWS does; the test
//! bed's launcher makes ListAccounts do the same (`scripts/moto-fixed.py`).

use std::sync::{Arc, Mutex};
use std::time::Instant;

use aws_sdk_organizations::config::interceptors::{
    BeforeTransmitInterceptorContextRef, FinalizerInterceptorContextRef,
};
use aws_sdk_organizations::config::{ConfigBag, Intercept, RuntimeComponents};
use aws_sdk_organizations::error::BoxError;
use aws_sdk_organizations::types::OrganizationFeatureSet;
use aws_smithy_types::config_bag::{Storable, StoreReplace};
use login_alert::org_tree::{self, IN_FLIGHT};

use crate::organization::{organization_of, organizations, root_of, unit_under};
use crate::support::fresh_account;

/// One request: its operation, when it was sent and when its answer was back.
type Call = (String, Instant, Option<Instant>);

/// Every request the client made.
#[derive(Debug, Clone, Default)]
struct Timeline(Arc<Mutex<Vec<Call>>>);

#[derive(Debug, Clone)]
struct Slot(usize);

impl Storable for Slot {
    type Storer = StoreReplace<Self>;
}

impl Intercept for Timeline {
    fn name(&self) -> &'static str {
        "timeline"
    }

    fn read_before_transmit(
        &self,
        ctx: &BeforeTransmitInterceptorContextRef<'_>,
        _: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let operation = ctx
            .request()
            .headers()
            .get("x-amz-target")
            .and_then(|t| t.rsplit('.').next())
            .unwrap_or("?")
            .to_owned();
        let mut calls = self.0.lock().unwrap();
        cfg.interceptor_state().store_put(Slot(calls.len()));
        calls.push((operation, Instant::now(), None));
        Ok(())
    }

    fn read_after_attempt(
        &self,
        _: &FinalizerInterceptorContextRef<'_>,
        _: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        if let Some(Slot(i)) = cfg.load::<Slot>() {
            self.0.lock().unwrap()[*i].2 = Some(Instant::now());
        }
        Ok(())
    }
}

impl Timeline {
    /// The most requests that ran one strictly after another.
    fn longest_chain(&self) -> usize {
        let mut calls: Vec<(Instant, Instant)> = self
            .0
            .lock()
            .unwrap()
            .iter()
            .map(|(_, start, end)| (*start, end.expect("every request answered")))
            .collect();
        calls.sort();
        let mut chain = vec![0usize; calls.len()];
        for i in 0..calls.len() {
            chain[i] = 1
                + (0..i)
                    .filter(|&j| calls[j].1 <= calls[i].0)
                    .map(|j| chain[j])
                    .max()
                    .unwrap_or(0);
        }
        chain.into_iter().max().unwrap_or(0)
    }

    /// The most requests in flight at any one time.
    fn most_in_flight(&self) -> usize {
        let calls = self.0.lock().unwrap();
        calls
            .iter()
            .map(|(_, start, _)| {
                calls
                    .iter()
                    .filter(|(_, s, e)| s <= start && e.is_none_or(|e| e > *start))
                    .count()
            })
            .max()
            .unwrap_or(0)
    }

    fn count(&self, operation: &str) -> usize {
        let calls = self.0.lock().unwrap();
        calls.iter().filter(|(op, _, _)| op == operation).count()
    }
}

/// root → five units; the first holds 25 accounts (two pages), the second a nested unit with two
/// accounts, the others one account each. Unit by unit, level by level, that is 7 round trips in a
/// row (each level waits for its fullest unit's accounts, then its units); walked as each listing
/// unlocks the next, 3: the root's units, a unit's units (or its second page of accounts), the
/// nested unit's listings.
#[tokio::test(flavor = "multi_thread")]
async fn the_units_are_listed_side_by_side_and_every_account_is_found_where_it_is() {
    let management = fresh_account().await;
    organization_of(&management, OrganizationFeatureSet::All).await;
    let orgs = organizations(&management);
    let root = root_of(&orgs).await;
    let mut units = Vec::new();
    for n in 0..5 {
        units.push(unit_under(&orgs, &root, &format!("unit-{n}")).await);
    }
    let nested = unit_under(&orgs, &units[1], "nested").await;
    let mut placements: Vec<&String> = vec![&units[0]; 25];
    placements.extend([&nested, &nested, &units[2], &units[3], &units[4]]);
    let mut expected = Vec::new();
    for (n, parent) in placements.into_iter().enumerate() {
        let created = orgs
            .create_account()
            .account_name(format!("member-{n}"))
            .email(format!("member-{n}@example.com"))
            .send()
            .await
            .unwrap();
        let id = created.create_account_status.unwrap().account_id.unwrap();
        orgs.move_account()
            .account_id(&id)
            .source_parent_id(&root)
            .destination_parent_id(parent)
            .send()
            .await
            .unwrap();
        expected.push((id, parent.clone()));
    }

    let timeline = Timeline::default();
    let client = aws_sdk_organizations::Client::from_conf(
        aws_sdk_organizations::config::Builder::from(&management.sdk("us-east-1"))
            .interceptor(timeline.clone())
            .build(),
    );
    let placed = org_tree::walk(&client, &root).await.unwrap();

    // Every member where it is, and the management account in the root.
    assert_eq!(placed.len(), expected.len() + 1, "{placed:?}");
    for (id, parent) in &expected {
        let found = placed
            .iter()
            .find(|p| &p.account.id == id)
            .unwrap_or_else(|| panic!("account {id} not found"));
        assert_eq!(found.path.last(), Some(parent), "{found:?}");
        assert_eq!(found.path[0], root);
    }
    let below_second = org_tree::below(&placed, &[units[1].clone()], &management.id);
    assert_eq!(
        below_second.len(),
        2,
        "the nested unit's accounts: {below_second:?}"
    );
    assert!(
        placed
            .iter()
            .any(|p| p.account.id == management.id && p.path == [root.clone()])
    );

    // One listing of each kind per unit, two pages for the unit of 25.
    assert_eq!(timeline.count("ListOrganizationalUnitsForParent"), 7);
    assert_eq!(timeline.count("ListAccountsForParent"), 8);
    let chain = timeline.longest_chain();
    // 3 when each listing starts the moment it is unlocked; one more when a listing waits for a
    // slot under the cap (IN_FLIGHT) behind one that was itself unlocked late.
    assert!(
        (3..=4).contains(&chain),
        "{chain} requests in a row for a tree three units deep: {:?}",
        timeline.0.lock().unwrap()
    );
    let in_flight = timeline.most_in_flight();
    assert!(
        (5..=IN_FLIGHT).contains(&in_flight),
        "at most {in_flight} requests at once: the five units are listed side by side, never more than {IN_FLIGHT}"
    );
}
