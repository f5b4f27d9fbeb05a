//! The organization's accounts, found by walking its tree of organizational units from the root.
//!
//! Organizations lists at most 20 accounts or units a page (`ListAccounts`,
//! `ListAccountsForParent`, `ListOrganizationalUnitsForParent`: MaxResults 1–20), and a page's
//! `NextToken` only comes with the page before it, so one listing of 1,000 accounts is 50 requests
//! in a row. The walk instead lists every unit on its own, its accounts and its child units at the
//! same time, and starts a child unit as soon as its parent's unit listing names it (not when the
//! whole level is done): the requests in a row are the depth of the tree plus the pages of the
//! fullest unit, not the pages of the whole organization. What it cannot shorten: a unit holding
//! N accounts is still N/20 pages in a row (a root holding 1,000 accounts directly: 50).
//!
//! At most [`IN_FLIGHT`] requests run at once. Organizations publishes no read rate for these
//! calls and answers `TooManyRequestsException` when pressed; the SDK's standard retry (`aws.rs`)
//! backs off and retries that, and a handful in flight keeps an organization of hundreds of units
//! well clear of it.

use std::collections::VecDeque;

use anyhow::Result;
use aws_sdk_organizations::Client;
use futures::stream::{FuturesUnordered, StreamExt};
use serde::Serialize;

use crate::aws::SdkResultExt;

/// The most Organizations requests the walk has in flight at once.
pub const IN_FLIGHT: usize = 8;
/// The largest page Organizations gives for these listings.
const PAGE: i32 = 20;

/// An account of the organization, as Organizations lists it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Account {
    pub id: String,
    pub name: String,
    /// ACTIVE, SUSPENDED, PENDING_CLOSURE.
    pub status: String,
}

/// An account and where it sits: the units above it, from the walk's start down to its parent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Placed {
    pub account: Account,
    pub path: Vec<String>,
}

/// Every account in the organization below `start` (a root or a unit), at any depth, by ID.
pub async fn walk(organizations: &Client, start: &str) -> Result<Vec<Placed>> {
    enum Job {
        Accounts(Vec<String>),
        Units(Vec<String>),
    }
    enum Found {
        Accounts(Vec<String>, Vec<Account>),
        Units(Vec<String>, Vec<String>),
    }
    let run = |job: Job| async move {
        Ok::<_, anyhow::Error>(match job {
            Job::Accounts(path) => {
                let accounts = accounts_of(organizations, path.last().expect("a path")).await?;
                Found::Accounts(path, accounts)
            }
            Job::Units(path) => {
                let units = units_of(organizations, path.last().expect("a path")).await?;
                Found::Units(path, units)
            }
        })
    };
    // Unit listings go first: each one may unlock more work.
    let mut units = VecDeque::from([Job::Units(vec![start.to_owned()])]);
    let mut accounts = VecDeque::from([Job::Accounts(vec![start.to_owned()])]);
    let mut running = FuturesUnordered::new();
    let mut placed = Vec::new();
    loop {
        while running.len() < IN_FLIGHT {
            let Some(job) = units.pop_front().or_else(|| accounts.pop_front()) else {
                break;
            };
            running.push(run(job));
        }
        let Some(found) = running.next().await else {
            break;
        };
        match found? {
            Found::Accounts(path, found) => {
                placed.extend(found.into_iter().map(|account| Placed {
                    account,
                    path: path.clone(),
                }))
            }
            Found::Units(path, children) => {
                for child in children {
                    let mut below = path.clone();
                    below.push(child);
                    units.push_back(Job::Units(below.clone()));
                    accounts.push_back(Job::Accounts(below));
                }
            }
        }
    }
    placed.sort_by(|a, b| a.account.id.cmp(&b.account.id));
    placed.dedup_by(|a, b| a.account.id == b.account.id);
    Ok(placed)
}

/// The accounts of `placed` below any of `units` (at any depth), `except` aside.
pub fn below(placed: &[Placed], units: &[String], except: &str) -> Vec<Account> {
    placed
        .iter()
        .filter(|p| p.account.id != except && p.path.iter().any(|u| units.contains(u)))
        .map(|p| p.account.clone())
        .collect()
}

/// The accounts directly in `unit`, every page.
async fn accounts_of(organizations: &Client, unit: &str) -> Result<Vec<Account>> {
    let pages = organizations
        .list_accounts_for_parent()
        .parent_id(unit)
        .max_results(PAGE)
        .into_paginator()
        .send()
        .try_collect()
        .await
        .doing(|| {
            format!("listing the accounts of {unit} (organizations:ListAccountsForParent)")
        })?;
    Ok(pages
        .into_iter()
        .flat_map(|page| page.accounts.unwrap_or_default())
        .map(|a| Account {
            id: a.id.unwrap_or_default(),
            name: a.name.unwrap_or_default(),
            status: a.status.map(|s| s.as_str().to_owned()).unwrap_or_default(),
        })
        .collect())
}

/// The organizational units directly below `unit`, every page.
async fn units_of(organizations: &Client, unit: &str) -> Result<Vec<String>> {
    let pages = organizations
        .list_organizational_units_for_parent()
        .parent_id(unit)
        .max_results(PAGE)
        .into_paginator()
        .send()
        .try_collect()
        .await
        .doing(|| {
            format!(
                "listing the organizational units below {unit} (organizations:ListOrganizationalUnitsForParent)"
            )
        })?;
    Ok(pages
        .into_iter()
        .flat_map(|page| page.organizational_units.unwrap_or_default())
        .filter_map(|u| u.id)
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn placed(id: &str, path: &[&str]) -> Placed {
        Placed {
            account: Account {
                id: id.into(),
                name: format!("name-{id}"),
                status: "ACTIVE".into(),
            },
            path: path.iter().map(|s| s.to_string()).collect(),
        }
    }

    #[test]
    fn below_a_unit_means_at_any_depth_and_never_the_excepted_account() {
        let all = [
            placed("111111111111", &["r-ab12"]),
            placed("222222222222", &["r-ab12", "ou-ab12-aaaaaaaa"]),
            placed(
                "333333333333",
                &["r-ab12", "ou-ab12-aaaaaaaa", "ou-ab12-bbbbbbbb"],
            ),
            placed("444444444444", &["r-ab12", "ou-ab12-cccccccc"]),
        ];
        let ids = |accounts: Vec<Account>| -> Vec<String> {
            accounts.into_iter().map(|a| a.id).collect()
        };
        assert_eq!(
            ids(below(&all, &["ou-ab12-aaaaaaaa".into()], "")),
            ["222222222222", "333333333333"]
        );
        assert_eq!(
            ids(below(&all, &["r-ab12".into()], "111111111111")),
            ["222222222222", "333333333333", "444444444444"]
        );
        assert_eq!(
            ids(below(
                &all,
                &["ou-ab12-bbbbbbbb".into(), "ou-ab12-cccccccc".into()],
                ""
            )),
            ["333333333333", "444444444444"]
        );
    }
}
