//! The life cycle of every resource login-alert owns, written once: the promise that login-alert
//! creates what is missing, changes and deletes only what it created, and refuses (never adopts)
//! a resource of someone else's that has login-alert's name.
//!
//! A resource kind says what its `Create`, `Update` and `Delete` changes are; this module decides
//! which of them a plan gets. Ownership is the `managed-by=login-alert` tag (see `tags`).

use serde::Serialize;
use serde_json::Value;

use super::{Attr, Change, Plan};

/// A resource as read, as far as the life cycle needs it.
pub trait Owned {
    /// It carries login-alert's `managed-by` tag: login-alert created it.
    fn ours(&self) -> bool;
}

/// [`Owned`] for a resource as read into a struct whose `managed` field holds whether it carries
/// login-alert's tag (what most kinds read).
macro_rules! owned_when_managed {
    ($current:ty) => {
        impl $crate::plan::lifecycle::Owned for $current {
            fn ours(&self) -> bool {
                self.managed
            }
        }
    };
}
pub(crate) use owned_when_managed;

/// How to get a resource of someone else's out of login-alert's way.
pub const FIX: &str = "delete or rename it, or choose another name_prefix";

/// The one refusal for a resource that exists under login-alert's name and is not login-alert's:
/// the plan is blocked (nothing is changed) and the user is told how to get out of the way.
pub fn foreign(kind: &str, name: &str) -> String {
    foreign_with(kind, name, FIX)
}

/// [`foreign`] with a fix of the kind's own (e.g. the trail: adopt it instead).
pub fn foreign_with(kind: &str, name: &str, fix: &str) -> String {
    format!(
        "{kind} {name} already exists and was not created by login-alert (it has no managed-by tag): {fix}"
    )
}

/// What is said of a resource under login-alert's name that login-alert did not create (`status`).
pub fn not_ours(kind: &str, name: &str) -> String {
    format!("{kind} {name} was not created by login-alert (it has no managed-by tag)")
}

/// What a plan says of a resource of someone else's that destroy (or a config that no longer wants
/// it) would otherwise delete.
pub fn left_alone(kind: &str, name: &str) -> String {
    format!("{}: left as it is", not_ours(kind, name))
}

/// Where a resource stands in its life cycle, as [`Plan::claim`] found it.
pub enum Found<'c, C> {
    /// Not there: create it.
    Missing,
    /// There and login-alert's: change what differs.
    Ours(&'c C),
    /// There and someone else's: the plan is blocked, nothing is planned for it.
    Refused,
}

impl<O> Plan<O> {
    /// Converges one resource: missing → `create()`; there and not login-alert's → the one refusal;
    /// there and ours → whatever `update` says differs (nothing when it is as wanted).
    pub fn converge<C, P, I>(
        &mut self,
        kind: &str,
        name: &str,
        current: Option<&C>,
        create: impl FnOnce() -> Change<P>,
        update: impl FnOnce(&C) -> I,
    ) where
        C: Owned,
        P: Into<O>,
        I: IntoIterator<Item = Change<P>>,
    {
        match self.claim(kind, name, current) {
            Found::Missing => self.push(Some(create())),
            Found::Ours(current) => {
                for change in update(current) {
                    self.push(Some(change));
                }
            }
            Found::Refused => {}
        }
    }

    /// The ownership rule alone, for a kind whose creation or update is more than one change:
    /// refuses (blocks the plan) when the resource is someone else's.
    pub fn claim<'c, C: Owned>(
        &mut self,
        kind: &str,
        name: &str,
        current: Option<&'c C>,
    ) -> Found<'c, C> {
        match current {
            None => Found::Missing,
            Some(current) if current.ours() => Found::Ours(current),
            Some(_) => {
                self.refuse_foreign(kind, name);
                Found::Refused
            }
        }
    }

    /// Removes a resource if it is there and login-alert's; one of someone else's is named and left.
    pub fn remove_ours<C, P>(&mut self, current: Option<&C>, delete: impl FnOnce(&C) -> Change<P>)
    where
        C: Owned,
        P: Into<O>,
    {
        if let Some(current) = current {
            let change = delete(current);
            if current.ours() {
                self.push(Some(change));
            } else {
                self.notice(left_alone(&change.kind, &change.name));
            }
        }
    }

    /// Blocks the plan: `kind name` exists and is not login-alert's.
    pub fn refuse_foreign(&mut self, kind: &str, name: &str) {
        self.block(foreign(kind, name));
    }
}

/// One [`Attr`] per top-level field whose value differs between `before` and `after` (both
/// serialized as JSON objects with the same field names), in field-name order. For settings
/// whose plan shows each differing field as it is: no hand-written diff for plain values.
pub fn field_diff(before: &impl Serialize, after: &impl Serialize) -> Vec<Attr> {
    let (Ok(Value::Object(before)), Ok(Value::Object(after))) =
        (serde_json::to_value(before), serde_json::to_value(after))
    else {
        return Vec::new();
    };
    after
        .into_iter()
        .filter_map(|(name, value)| {
            let old = before.get(&name).cloned().unwrap_or(Value::Null);
            (old != value).then(|| Attr::new(&name, Some(old), Some(value)))
        })
        .collect()
}

/// One [`Attr`] per top-level field of `after`, as set on a new resource.
pub fn field_set(after: &impl Serialize) -> Vec<Attr> {
    match serde_json::to_value(after) {
        Ok(Value::Object(after)) => after
            .into_iter()
            .map(|(name, value)| Attr::new(&name, None, Some(value)))
            .collect(),
        _ => Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::testing::test_plan;
    use crate::plan::{Action, Mode};

    struct Found(bool);

    impl Owned for Found {
        fn ours(&self) -> bool {
            self.0
        }
    }

    fn converge(current: Option<&Found>, differs: bool) -> Plan<&'static str> {
        let mut plan = test_plan(Mode::Apply);
        plan.converge(
            "queue",
            "q",
            current,
            || Change::new("queue", "q", Action::Create, "create"),
            |_| differs.then(|| Change::new("queue", "q", Action::Update, "update")),
        );
        plan
    }

    #[test]
    fn missing_is_created_ours_is_updated_only_where_it_differs() {
        assert_eq!(converge(None, false).changes[0].op, "create");
        assert_eq!(converge(Some(&Found(true)), true).changes[0].op, "update");
        assert!(!converge(Some(&Found(true)), false).has_changes());
    }

    #[test]
    fn a_resource_of_someone_elses_blocks_and_is_never_changed() {
        let plan = converge(Some(&Found(false)), true);
        assert!(!plan.has_changes());
        assert_eq!(
            plan.blockers,
            [
                "queue q already exists and was not created by login-alert (it has no managed-by tag): \
              delete or rename it, or choose another name_prefix"
            ]
        );
    }

    #[test]
    fn destroy_deletes_ours_and_names_what_it_leaves() {
        let mut plan: Plan<&str> = test_plan(Mode::Destroy);
        let delete = |_: &Found| Change::new("queue", "q", Action::Delete, "delete");
        plan.remove_ours(Some(&Found(true)), delete);
        plan.remove_ours(Some(&Found(false)), delete);
        plan.remove_ours(None, delete);
        assert_eq!(plan.changes.len(), 1);
        assert_eq!(plan.notices.len(), 1);
        assert!(plan.notices[0].contains("left as it is"));
    }

    #[test]
    fn field_diff_names_each_differing_field_only() {
        #[derive(Serialize)]
        struct Settings {
            retention: Option<i64>,
            encrypted: bool,
        }
        let attrs = field_diff(
            &Settings {
                retention: None,
                encrypted: true,
            },
            &Settings {
                retention: Some(7),
                encrypted: true,
            },
        );
        assert_eq!(
            attrs,
            [Attr::new("retention", Some(Value::Null), Some(7.into()))]
        );
        assert_eq!(
            field_set(&Settings {
                retention: Some(7),
                encrypted: true
            })
            .len(),
            2
        );
    }
}
