//! login-alert's own log stream in the trail's log group: where `login-alert test` puts its record,
//! so the real subscription filter must pick it up. Log streams take no tags: it is found by its
//! fixed name, like the subscription filter.

use anyhow::{Context, Result};
use futures::future::try_join_all;
use serde::{Deserialize, Serialize};

use crate::aws::{SdkResultExt, error_code, explain};
use crate::model::{Ctx, Facts, Target};
use crate::part::Part;
use crate::plan::{Change, Plan};
use crate::policy::Grant;

const KIND: &str = "log stream";
const NOT_FOUND: &[&str] = &["ResourceNotFoundException"];

/// Whether the stream exists in one log group.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Current {
    pub log_group: String,
    pub stream: String,
    pub exists: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "kebab-case")]
pub enum Op {
    Create { log_group: String, stream: String },
    Delete { log_group: String, stream: String },
}

/// The test stream, as a set: in the group the trail delivers to (where it belongs) and in
/// login-alert's own group (where an earlier config put it).
pub struct TestStream;

impl Part for TestStream {
    const NAME: &'static str = "the test log stream";
    type Current = Vec<Current>;
    type Op = Op;
    const NEEDS_FACTS: bool = true;

    /// In whichever group the trail delivers to (the user's own, when the adopted trail had one).
    fn permissions(&self, t: &Target) -> Vec<Grant> {
        let mut writes = vec!["logs:DeleteLogStream"];
        if !t.route.uses_eventbridge() {
            writes.push("logs:CreateLogStream");
        }
        vec![
            Grant::new(
                "TheTrailsLogGroup",
                ["logs:DescribeLogStreams"],
                [t.arns.log_group("*")],
            ),
            Grant::new("TestStream", writes, [stream_arn(t)]),
        ]
    }

    async fn read(&self, ctx: &Ctx, facts: &Facts) -> Result<Vec<Current>> {
        let stream = ctx.target.names.test_stream();
        let mut groups = vec![facts.delivery.log_group_name.clone()];
        let own = ctx.target.names.log_group();
        if !groups.contains(&own) {
            groups.push(own);
        }
        try_join_all(groups.iter().map(|group| read(ctx, group, &stream))).await
    }

    fn plan_apply(&self, current: &Vec<Current>, t: &Target, facts: &Facts, plan: &mut Plan<Op>) {
        for found in current {
            // In EventBridge and both modes the test enters through EventBridge: no stream in any log group.
            if !t.route.uses_eventbridge() && found.log_group == facts.delivery.log_group_name {
                plan_apply(found, plan);
            } else {
                plan_destroy(found, plan);
            }
        }
    }

    fn plan_destroy(&self, current: &Vec<Current>, _: &Target, _: &Facts, plan: &mut Plan<Op>) {
        for found in current {
            plan_destroy(found, plan);
        }
    }
}

/// The test stream in any log group of the home region.
pub fn stream_arn(t: &Target) -> String {
    format!(
        "{}:log-stream:{}",
        t.arns.log_group("*"),
        t.names.test_stream()
    )
}

/// Whether `stream` exists in `log_group` (a group that does not exist has none).
pub async fn read(ctx: &Ctx, log_group: &str, stream: &str) -> Result<Current> {
    let out = ctx
        .clients
        .logs
        .describe_log_streams()
        .log_group_name(log_group)
        .log_stream_name_prefix(stream)
        .send()
        .await
        .found_doing(NOT_FOUND, || {
            format!("reading the log streams of {log_group}")
        })?;
    let exists = out.is_some_and(|out| {
        out.log_streams
            .unwrap_or_default()
            .iter()
            .any(|s| s.log_stream_name.as_deref() == Some(stream))
    });
    Ok(Current {
        log_group: log_group.to_owned(),
        stream: stream.to_owned(),
        exists,
    })
}

fn label(found: &Current) -> String {
    format!("{} in {}", found.stream, found.log_group)
}

pub fn plan_apply(found: &Current, plan: &mut Plan<impl From<Op>>) {
    if !found.exists {
        plan.push(Some(
            Change::create(
                KIND,
                label(found),
                Op::Create {
                    log_group: found.log_group.clone(),
                    stream: found.stream.clone(),
                },
            )
            .note("`login-alert test` puts its test record here; nothing else writes to it"),
        ));
    }
}

pub fn plan_destroy(found: &Current, plan: &mut Plan<impl From<Op>>) {
    if found.exists {
        plan.push(Some(Change::delete(
            KIND,
            label(found),
            Op::Delete {
                log_group: found.log_group.clone(),
                stream: found.stream.clone(),
            },
        )));
    }
}

pub async fn execute(ctx: &Ctx, op: &Op) -> Result<()> {
    let logs = &ctx.clients.logs;
    match op {
        Op::Create { log_group, stream } => {
            match logs
                .create_log_stream()
                .log_group_name(log_group)
                .log_stream_name(stream)
                .send()
                .await
            {
                Ok(_) => Ok(()),
                // Created by an interrupted run a moment ago.
                Err(err) if error_code(&err) == Some("ResourceAlreadyExistsException") => Ok(()),
                Err(err) => Err(explain(err))
                    .with_context(|| format!("creating log stream {stream} in {log_group}")),
            }
        }
        Op::Delete { log_group, stream } => logs
            .delete_log_stream()
            .log_group_name(log_group)
            .log_stream_name(stream)
            .send()
            .await
            .gone_doing(NOT_FOUND, || {
                format!("deleting log stream {stream} from {log_group}")
            }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::Mode;
    use crate::testing::test_plan;

    fn found(group: &str, exists: bool) -> Current {
        Current {
            log_group: group.into(),
            stream: "login-alert-test".into(),
            exists,
        }
    }

    #[test]
    fn the_stream_is_created_once_and_destroyed_where_it_is() {
        let mut plan: Plan<Op> = test_plan(Mode::Apply);
        plan_apply(&found("audit", false), &mut plan);
        plan_apply(&found("audit", true), &mut plan);
        assert_eq!(plan.changes.len(), 1);
        assert_eq!(plan.changes[0].name, "login-alert-test in audit");
        let mut plan: Plan<Op> = test_plan(Mode::Destroy);
        plan_destroy(&found("audit", true), &mut plan);
        plan_destroy(&found("/login-alert/cloudtrail", false), &mut plan);
        assert_eq!(plan.changes.len(), 1);
        assert!(
            matches!(&plan.changes[0].op, Op::Delete { log_group, .. } if log_group == "audit")
        );
    }
}
