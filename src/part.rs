//! The contract every part of the pipeline fulfils: a kind of AWS resource and the instances of it
//! login-alert owns, read by their fixed names, planned by pure functions, changed by the engine.

use std::fmt::Debug;
use std::future::Future;

use anyhow::Result;
use serde::Serialize;

use crate::check::Check;
use crate::model::{Ctx, Facts, Target};
use crate::plan::Plan;
use crate::policy::Grant;

/// One part of the pipeline (a log group, the trail, the per-region rules, …).
///
/// A part may stand for one instance or a set of them (one per region, one per address): its
/// `Current` then holds every instance and its plans cover each one. How each operation is run
/// lives beside it in the same module (`execute`); the engine dispatches to it.
pub trait Part: Sync {
    /// What the part is called in messages about it ("the trail", "the subscription filter").
    const NAME: &'static str;
    /// What `read` found: the instance (`Option`), or every instance of a set. Serialized only as a
    /// fingerprint (a saved plan is refused once it changes), so a secret in it appears as a digest.
    type Current: Debug + Serialize + Send + Sync + 'static;
    /// One operation `apply` can run on this part.
    type Op: Debug + Send + Sync + 'static;

    /// Other parts depend on what [`Part::learn`] takes from this one.
    const TEACHES: bool = false;
    /// Its `read` uses the [`Facts`] the teaching parts learned, so it waits for them; every other
    /// part is read at once, beside the teaching ones, and must not look at the facts it is given.
    const NEEDS_FACTS: bool = false;

    /// Reads the live state by the fixed names login-alert uses. Never writes.
    fn read(&self, ctx: &Ctx, facts: &Facts) -> impl Future<Output = Result<Self::Current>> + Send;

    /// The IAM permissions `read`, `checks` and the execution of this part's operations need under `t`
    /// (`login-alert policy` gathers them over the pipeline): the actions of every call, on ARNs built
    /// from `t.arns` and `t.names`; `*` only for actions IAM authorizes on nothing narrower. In each
    /// mode, a part the mode does not use still reads, and deletes what an earlier mode left.
    fn permissions(&self, t: &Target) -> Vec<Grant>;

    /// What the other parts need to know of this one (e.g. where the trail delivers).
    fn learn(&self, _current: &Self::Current, _t: &Target, _facts: &mut Facts) {}

    /// Whether the config (and what the teaching parts learned) wants this part. `apply` plans a
    /// part that is not wanted as `destroy` does: what an earlier config left of it goes.
    fn wanted(&self, _t: &Target, _facts: &Facts) -> bool {
        true
    }

    /// What `apply` would change while the part is wanted. Pure.
    fn plan_apply(
        &self,
        current: &Self::Current,
        t: &Target,
        facts: &Facts,
        plan: &mut Plan<Self::Op>,
    );

    /// What `destroy` (or `apply`, for a part that is not wanted) would change. Pure.
    fn plan_destroy(
        &self,
        current: &Self::Current,
        t: &Target,
        facts: &Facts,
        plan: &mut Plan<Self::Op>,
    );

    /// What `status` says about this part's link of an alert's path, from what `read` found and,
    /// where that is not enough, further reads (delivery status, metrics). Never writes. Parts
    /// that carry no alert themselves report nothing.
    fn checks(
        &self,
        _ctx: &Ctx,
        _current: &Self::Current,
        _facts: &Facts,
    ) -> impl Future<Output = Result<Vec<Check>>> + Send {
        async { Ok(Vec::new()) }
    }
}

/// A resource kind of which login-alert owns instances under fixed names: how one is read, planned
/// and removed. The module of the kind implements it once; each instance is then a [`Named`] part.
pub trait Kind {
    type Current: Debug + Serialize + Send + Sync + 'static;
    type Desired;
    type Op: Debug + Send + Sync + 'static;

    /// The fixed name of the instance `desired` describes: what it is read, changed and granted by.
    fn name(desired: &Self::Desired) -> &str;

    /// The instance called `name`, if there is one. Never writes.
    fn read(ctx: &Ctx, name: &str) -> impl Future<Output = Result<Option<Self::Current>>> + Send;

    /// What `apply` changes for one wanted instance (through `Plan::converge`). Pure.
    fn plan_apply(
        current: Option<&Self::Current>,
        desired: &Self::Desired,
        plan: &mut Plan<Self::Op>,
    );

    /// What removes the instance if it is login-alert's (through `Plan::remove_ours`). Pure.
    fn plan_destroy(current: Option<&Self::Current>, plan: &mut Plan<Self::Op>);

    /// As [`Part::permissions`], for the instance called `name`: reading and deleting it in every
    /// mode, creating and changing it too where the mode `uses` it.
    fn permissions(t: &Target, name: &str, uses: bool) -> Vec<Grant>;
}

/// Which configs want a [`Named`] part.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum When {
    /// Every config, in every mode.
    Always,
    /// The modes that route through EventBridge.
    EventBridge,
    /// The modes that deliver the trail to CloudWatch Logs, while the trail delivers to
    /// login-alert's own log group (not to one of the user's, nor in EventBridge mode).
    TrailDelivery,
}

/// One instance of a [`Kind`] under a fixed name: all such a part says is what it wants (its name
/// included, stated once there), when it is wanted and what `status` reports of it. [`Part`] follows.
pub trait Named: Sync {
    /// As [`Part::NAME`].
    const NAME: &'static str;
    type Kind: Kind;

    /// What the config wants it to be, under its fixed name (from `t.names`). It depends on the
    /// config alone, since the instance is read and granted by that name before any fact is learned.
    fn desired(&self, t: &Target) -> <Self::Kind as Kind>::Desired;

    /// Its fixed name, as [`Named::desired`] states it.
    fn name(&self, t: &Target) -> String {
        <Self::Kind as Kind>::name(&self.desired(t)).to_owned()
    }

    /// When it is wanted (by default: always).
    const WHEN: When = When::Always;

    /// Whether the config's mode uses it at all. A mode that does not still reads it and deletes
    /// what an earlier mode left, so only its creation depends on this.
    fn uses(&self, t: &Target) -> bool {
        match Self::WHEN {
            When::Always => true,
            When::EventBridge => t.route.uses_eventbridge(),
            When::TrailDelivery => t.route.uses_logs(),
        }
    }

    /// As [`Part::permissions`]: the kind's, for its name, as far as the mode [`Named::uses`] it.
    fn permissions(&self, t: &Target) -> Vec<Grant> {
        <Self::Kind as Kind>::permissions(t, &self.name(t), self.uses(t))
    }

    /// As [`Part::wanted`]: whenever the mode [`Named::uses`] it, and for [`When::TrailDelivery`]
    /// only while the trail delivers to login-alert's own log group.
    fn wanted(&self, t: &Target, facts: &Facts) -> bool {
        match Self::WHEN {
            When::TrailDelivery => facts.delivers_to_ours(t),
            _ => self.uses(t),
        }
    }

    /// As [`Part::checks`].
    fn checks(
        &self,
        _ctx: &Ctx,
        _current: Option<&<Self::Kind as Kind>::Current>,
    ) -> impl Future<Output = Result<Vec<Check>>> + Send {
        async { Ok(Vec::new()) }
    }
}

impl<N: Named> Part for N
where
    <N::Kind as Kind>::Current: Sync,
{
    const NAME: &'static str = N::NAME;
    type Current = Option<<N::Kind as Kind>::Current>;
    type Op = <N::Kind as Kind>::Op;

    async fn read(&self, ctx: &Ctx, _: &Facts) -> Result<Self::Current> {
        N::Kind::read(ctx, &self.name(&ctx.target)).await
    }

    fn permissions(&self, t: &Target) -> Vec<Grant> {
        Named::permissions(self, t)
    }

    fn wanted(&self, t: &Target, facts: &Facts) -> bool {
        Named::wanted(self, t, facts)
    }

    fn plan_apply(
        &self,
        current: &Self::Current,
        t: &Target,
        _: &Facts,
        plan: &mut Plan<Self::Op>,
    ) {
        N::Kind::plan_apply(current.as_ref(), &self.desired(t), plan);
    }

    fn plan_destroy(
        &self,
        current: &Self::Current,
        _: &Target,
        _: &Facts,
        plan: &mut Plan<Self::Op>,
    ) {
        N::Kind::plan_destroy(current.as_ref(), plan);
    }

    fn checks(
        &self,
        ctx: &Ctx,
        current: &Self::Current,
        _: &Facts,
    ) -> impl Future<Output = Result<Vec<Check>>> + Send {
        Named::checks(self, ctx, current.as_ref())
    }
}

/// [`Kind`] for `$kind` from the functions of the module it is invoked in: `$read(ctx, name)` (by
/// default `read`), `plan_apply(current, desired, plan)`, `plan_destroy(current, plan)` and
/// `$permissions(t, name, uses)` (by default `permissions`), on the module's `Current`, `Desired`
/// and `Op`; an instance's name is its `Desired`'s `name` field.
macro_rules! kind {
    ($kind:ident) => {
        $crate::part::kind!($kind, read);
    };
    ($kind:ident, $read:ident) => {
        $crate::part::kind!($kind, $read, permissions);
    };
    ($kind:ident, $read:ident, $permissions:ident) => {
        impl $crate::part::Kind for $kind {
            type Current = Current;
            type Desired = Desired;
            type Op = Op;

            fn name(desired: &Desired) -> &str {
                &desired.name
            }

            async fn read(ctx: &$crate::model::Ctx, name: &str) -> anyhow::Result<Option<Current>> {
                $read(ctx, name).await
            }

            fn plan_apply(current: Option<&Current>, desired: &Desired, plan: &mut Plan<Op>) {
                plan_apply(current, desired, plan);
            }

            fn plan_destroy(current: Option<&Current>, plan: &mut Plan<Op>) {
                plan_destroy(current, plan);
            }

            fn permissions(
                t: &$crate::model::Target,
                name: &str,
                uses: bool,
            ) -> Vec<$crate::policy::Grant> {
                $permissions(t, name, uses)
            }
        }
    };
}
pub(crate) use kind;
