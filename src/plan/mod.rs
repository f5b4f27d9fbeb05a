//! The plan: plain data saying exactly what `apply` or `destroy` will do, computed by reading only.
//!
//! It knows nothing of AWS resources: each change carries the operation `O` that `apply` runs for it
//! opaquely, the way Terraform's plan carries a provider's data.

pub mod lifecycle;
pub mod render;
pub mod saved;
#[cfg(test)]
pub mod testing;

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// What happens to one resource.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Action {
    Create,
    Update,
    Delete,
    /// Delete then create (a setting that cannot be changed in place).
    Replace,
}

impl Action {
    pub fn symbol(self) -> &'static str {
        match self {
            Action::Create => "+",
            Action::Update => "~",
            Action::Delete => "-",
            Action::Replace => "-/+",
        }
    }
}

/// One attribute's value before and after (`None` = absent). Secrets are shown as `(sensitive)`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Attr {
    pub name: String,
    pub before: Option<Value>,
    pub after: Option<Value>,
}

impl Attr {
    pub fn new(name: &str, before: Option<Value>, after: Option<Value>) -> Self {
        Attr {
            name: name.to_owned(),
            before,
            after,
        }
    }
    /// A value being set on a new resource.
    pub fn set(name: &str, after: impl Into<Value>) -> Self {
        Attr::new(name, None, Some(after.into()))
    }
    /// A value changing.
    pub fn change(name: &str, before: impl Into<Value>, after: impl Into<Value>) -> Self {
        Attr::new(name, Some(before.into()), Some(after.into()))
    }
    /// A value changing, only where it differs: nothing where `before` is already `after`.
    pub fn differs<T>(name: &str, before: &T, after: &T) -> Option<Self>
    where
        T: PartialEq + Clone + Into<Value>,
    {
        (before != after).then(|| Attr::change(name, before.clone(), after.clone()))
    }
    /// A value going away.
    pub fn unset(name: &str, before: impl Into<Value>) -> Self {
        Attr::new(name, Some(before.into()), None)
    }
}

/// The placeholder printed for secret values, before and after.
pub const SENSITIVE: &str = "(sensitive)";

/// One resource's change: what kind, which one, what happens, which attributes differ, and the
/// operation `apply` will run for it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Change<O> {
    /// A short kind, e.g. "log group", "IAM role", "trail".
    pub kind: String,
    /// The resource's name (or ARN where the name alone is ambiguous).
    pub name: String,
    pub action: Action,
    #[serde(rename = "attributes")]
    pub attrs: Vec<Attr>,
    /// Plain-words remarks for the reviewer (e.g. "restores the trail to single-region").
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<String>,
    /// What apply runs. Serialized only into a saved plan; a secret in it serializes as `(sensitive)`
    /// and is taken from the config again when the saved plan is applied.
    pub op: O,
}

impl<O> Change<O> {
    pub fn new(kind: &str, name: impl Into<String>, action: Action, op: O) -> Self {
        Change {
            kind: kind.to_owned(),
            name: name.into(),
            action,
            attrs: Vec::new(),
            notes: Vec::new(),
            op,
        }
    }
    /// A change that creates `name`.
    pub fn create(kind: &str, name: impl Into<String>, op: O) -> Self {
        Self::new(kind, name, Action::Create, op)
    }
    /// A change that changes `name` in place.
    pub fn update(kind: &str, name: impl Into<String>, op: O) -> Self {
        Self::new(kind, name, Action::Update, op)
    }
    /// A change that deletes `name`.
    pub fn delete(kind: &str, name: impl Into<String>, op: O) -> Self {
        Self::new(kind, name, Action::Delete, op)
    }
    /// [`Change::delete`] of a resource whose deletion needs its name alone (`op` makes it of the name).
    pub fn delete_named(kind: &str, name: &str, op: impl FnOnce(String) -> O) -> Self {
        Self::delete(kind, name, op(name.to_owned()))
    }
    pub fn attr(mut self, attr: Attr) -> Self {
        self.attrs.push(attr);
        self
    }
    pub fn attrs(mut self, attrs: impl IntoIterator<Item = Attr>) -> Self {
        self.attrs.extend(attrs);
        self
    }
    pub fn note(mut self, note: impl Into<String>) -> Self {
        self.notes.push(note.into());
        self
    }
    /// The same change carrying its operation as another type (a resource's own op as the engine's).
    pub fn map_op<P>(self, f: impl FnOnce(O) -> P) -> Change<P> {
        Change {
            kind: self.kind,
            name: self.name,
            action: self.action,
            attrs: self.attrs,
            notes: self.notes,
            op: f(self.op),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Mode {
    Apply,
    Destroy,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Plan<O> {
    pub mode: Mode,
    pub account_id: String,
    pub region: String,
    /// In the order `apply` runs them (dependencies first; for destroy, dependents first).
    pub changes: Vec<Change<O>>,
    /// Facts the reviewer should know that are not changes (e.g. subscriptions awaiting confirmation).
    pub notices: Vec<String>,
    /// Reasons `apply` must not run; the plan still shows everything else.
    pub blockers: Vec<String>,
    /// Where alerts come from once applied, and how fast they arrive (apply plans).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub coverage: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Summary {
    pub add: usize,
    pub change: usize,
    pub destroy: usize,
}

impl<O> Plan<O> {
    pub fn new(mode: Mode, account_id: &str, region: &str) -> Self {
        Plan {
            mode,
            account_id: account_id.to_owned(),
            region: region.to_owned(),
            changes: Vec::new(),
            notices: Vec::new(),
            blockers: Vec::new(),
            coverage: None,
        }
    }

    /// An apply plan for no account or region in particular: what a check plans to learn what
    /// differs from the wanted state (`status` says it without changing anything).
    pub fn probe() -> Self {
        Plan::new(Mode::Apply, "", "")
    }

    /// Adds a change, its operation turned into this plan's kind of operation.
    pub fn push<P: Into<O>>(&mut self, change: Option<Change<P>>) {
        self.changes.extend(change.map(|c| c.map_op(Into::into)));
    }

    /// A plan for the same account and mode with no changes yet (to plan one part on its own).
    pub fn empty_like<P>(&self) -> Plan<P> {
        Plan::new(self.mode, &self.account_id, &self.region)
    }

    /// Takes over another plan's changes (operations converted), notices and blockers, in order.
    pub fn absorb<P: Into<O>>(&mut self, other: Plan<P>) {
        self.changes
            .extend(other.changes.into_iter().map(|c| c.map_op(Into::into)));
        self.notices.extend(other.notices);
        self.blockers.extend(other.blockers);
    }

    pub fn notice(&mut self, text: impl Into<String>) {
        self.notices.push(text.into());
    }

    pub fn block(&mut self, text: impl Into<String>) {
        self.blockers.push(text.into());
    }

    pub fn has_changes(&self) -> bool {
        !self.changes.is_empty()
    }

    /// Terraform's count: a replacement is one to add and one to destroy.
    pub fn summary(&self) -> Summary {
        let mut s = Summary {
            add: 0,
            change: 0,
            destroy: 0,
        };
        for change in &self.changes {
            match change.action {
                Action::Create => s.add += 1,
                Action::Update => s.change += 1,
                Action::Delete => s.destroy += 1,
                Action::Replace => {
                    s.add += 1;
                    s.destroy += 1;
                }
            }
        }
        s
    }
}
