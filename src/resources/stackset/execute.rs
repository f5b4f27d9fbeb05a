//! The StackSets calls: reading the StackSet and its instances, running one operation per change and waiting for it.

use super::*;

fn call_as(delegated: bool) -> CallAs {
    if delegated {
        CallAs::DelegatedAdmin
    } else {
        CallAs::SelfValue
    }
}

/// The instances of StackSet `name` (in `region`, or everywhere), every page.
async fn list_instances(
    ctx: &Ctx,
    name: &str,
    region: Option<&str>,
    delegated: bool,
) -> Result<Vec<Instance>> {
    let mut instances = Vec::new();
    let mut pages = ctx
        .clients
        .cloudformation
        .list_stack_instances()
        .stack_set_name(name)
        .set_stack_instance_region(region.map(str::to_owned))
        // The largest page CloudFormation gives: a region of 1,000 accounts is 10 pages in a row.
        .max_results(100)
        .call_as(call_as(delegated))
        .into_paginator()
        .send();
    while let Some(page) = pages.next().await {
        let page = page.doing(|| format!("listing the stack instances of {name}"))?;
        instances.extend(
            page.summaries
                .unwrap_or_default()
                .into_iter()
                .map(|s| Instance {
                    account: s.account.unwrap_or_default(),
                    region: s.region.unwrap_or_default(),
                    status: s.status.map(|x| x.as_str().to_owned()).unwrap_or_default(),
                    reason: s.status_reason,
                }),
        );
    }
    Ok(instances)
}

/// The StackSet and every instance of it (`ListStackInstances` per region in `regions`, at once;
/// without them one listing of every region). Only reads.
pub async fn read(ctx: &Ctx, delegated: bool, regions: Option<&[String]>) -> Result<Current> {
    let name = ctx.target.names.org_stack_set();
    let cfn = &ctx.clients.cloudformation;
    let found = cfn
        .describe_stack_set()
        .stack_set_name(&name)
        .call_as(call_as(delegated))
        .send()
        .await
        .found_doing(NOT_FOUND, || format!("reading StackSet {name}"))?
        .and_then(|out| out.stack_set)
        // A deleted StackSet stays listed for a while with status DELETED: it is gone.
        .filter(|s| s.status != Some(StackSetStatus::Deleted));
    let Some(found) = found else {
        return Ok(Current {
            stack_set: None,
            instances: Vec::new(),
            members: Vec::new(),
        });
    };
    // One listing per region, all at once, when the regions are known: an organization's
    // instances are pages of 100, so a region's listing is accounts/100 requests in a row rather
    // than accounts × regions/100.
    let listings: Vec<Option<&str>> = match regions {
        Some(regions) if !regions.is_empty() => regions.iter().map(|r| Some(r.as_str())).collect(),
        _ => vec![None],
    };
    let instances: Vec<Vec<Instance>> = futures::future::try_join_all(
        listings
            .into_iter()
            .map(|region| list_instances(ctx, &name, region, delegated)),
    )
    .await?;
    let mut instances: Vec<Instance> = instances.into_iter().flatten().collect();
    instances.sort();
    instances.dedup_by(|a, b| a.account == b.account && a.region == b.region);
    let managed = found
        .tags
        .unwrap_or_default()
        .iter()
        .any(|tag| tag.key() == Some(MANAGED_BY.0) && tag.value() == Some(MANAGED_BY.1));
    Ok(Current {
        members: Vec::new(),
        stack_set: Some(StackSetFound {
            name,
            managed,
            template_digest: digest(found.template_body.as_deref().unwrap_or_default()),
            units: found.organizational_unit_ids.unwrap_or_default(),
        }),
        instances,
    })
}

fn preferences() -> StackSetOperationPreferences {
    StackSetOperationPreferences::builder()
        .region_concurrency_type(RegionConcurrencyType::Parallel)
        .max_concurrent_percentage(MAX_CONCURRENT_PERCENTAGE)
        .failure_tolerance_percentage(FAILURE_TOLERANCE_PERCENTAGE)
        .build()
}

fn targets(units: &[String]) -> DeploymentTargets {
    DeploymentTargets::builder()
        .set_organizational_unit_ids(Some(units.to_vec()))
        .build()
}

pub async fn execute(ctx: &Ctx, op: &Op) -> Result<()> {
    let cfn = &ctx.clients.cloudformation;
    let managed = || Tag::builder().key(MANAGED_BY.0).value(MANAGED_BY.1).build();
    // The operation each change of the stack set or its instances starts, waited for below.
    let (name, delegated, operation) = match op {
        Op::Create {
            name,
            template,
            delegated,
        } => {
            let created = cfn
                .create_stack_set()
                .stack_set_name(name)
                .description("login-alert: each member account's forwarding rule to the organization's central bus")
                .template_body(template)
                .permission_model(PermissionModels::ServiceManaged)
                .auto_deployment(AutoDeployment::builder().enabled(true).retain_stacks_on_account_removal(false).build())
                .capabilities(Capability::CapabilityNamedIam)
                .tags(managed())
                .call_as(call_as(*delegated))
                .send()
                .await;
            return match created {
                Ok(_) => Ok(()),
                // Created by an interrupted apply: tagged from birth, read as ours next time.
                Err(err) if crate::aws::error_code(&err) == Some("NameAlreadyExistsException") => {
                    Ok(())
                }
                Err(err) => Err(err).doing(|| format!("creating StackSet {name}")),
            };
        }
        Op::Update {
            name,
            template,
            delegated,
        } => {
            let out = cfn
                .update_stack_set()
                .stack_set_name(name)
                .template_body(template)
                .capabilities(Capability::CapabilityNamedIam)
                .operation_preferences(preferences())
                .call_as(call_as(*delegated))
                .send()
                .await
                .doing(|| format!("updating StackSet {name}"))?;
            (name, delegated, out.operation_id)
        }
        Op::AddInstances {
            name,
            units,
            regions,
            accounts,
            delegated,
        } => {
            // Only the named accounts of the units (AccountFilterType INTERSECTION), when named.
            let targets = if accounts.is_empty() {
                targets(units)
            } else {
                DeploymentTargets::builder()
                    .set_organizational_unit_ids(Some(units.clone()))
                    .set_accounts(Some(accounts.clone()))
                    .account_filter_type(AccountFilterType::Intersection)
                    .build()
            };
            let out = cfn
                .create_stack_instances()
                .stack_set_name(name)
                .deployment_targets(targets)
                .set_regions(Some(regions.clone()))
                .operation_preferences(preferences())
                .call_as(call_as(*delegated))
                .send()
                .await
                .doing(|| format!("creating the stack instances of {name}"))?;
            (name, delegated, out.operation_id)
        }
        Op::DeleteInstances {
            name,
            units,
            regions,
            delegated,
        } => {
            let out = cfn
                .delete_stack_instances()
                .stack_set_name(name)
                .deployment_targets(targets(units))
                .set_regions(Some(regions.clone()))
                .retain_stacks(false)
                .operation_preferences(preferences())
                .call_as(call_as(*delegated))
                .send()
                .await
                .found_doing(NOT_FOUND, || {
                    format!("deleting the stack instances of {name}")
                })?;
            (name, delegated, out.and_then(|out| out.operation_id))
        }
        Op::Delete { name, delegated } => {
            return cfn
                .delete_stack_set()
                .stack_set_name(name)
                .call_as(call_as(*delegated))
                .send()
                .await
                .gone_doing(NOT_FOUND, || format!("deleting StackSet {name}"));
        }
    };
    wait(ctx, name, operation.as_deref(), *delegated).await
}

/// Waits for one StackSets operation, with a progress line; a failure names each failed account
/// and region with CloudFormation's reason.
async fn wait(ctx: &Ctx, name: &str, operation: Option<&str>, delegated: bool) -> Result<()> {
    let Some(operation) = operation else {
        return Ok(());
    };
    let cfn = &ctx.clients.cloudformation;
    let step = ctx
        .printer
        .step(format!("StackSets operation {operation} on {name}"));
    let start = tokio::time::Instant::now();
    let mut delay = Duration::from_secs(1);
    loop {
        let out = cfn
            .describe_stack_set_operation()
            .stack_set_name(name)
            .operation_id(operation)
            .call_as(call_as(delegated))
            .send()
            .await
            .doing(|| format!("reading StackSets operation {operation} on {name}"))?;
        let Some(found) = out.stack_set_operation else {
            bail!("CloudFormation did not describe StackSets operation {operation} on {name}");
        };
        match found.status {
            Some(StackSetOperationStatus::Succeeded) => {
                step.done();
                return Ok(());
            }
            Some(StackSetOperationStatus::Failed | StackSetOperationStatus::Stopped) => {
                step.failed();
                let failures = failures(ctx, name, operation, delegated).await?;
                bail!(
                    "StackSets operation {operation} on {name} {}: {}{}. Correct the cause and run `login-alert apply` again",
                    found
                        .status
                        .map(|s| s.as_str().to_lowercase())
                        .unwrap_or_default(),
                    found
                        .status_reason
                        .unwrap_or_else(|| "no reason given".into()),
                    if failures.is_empty() {
                        String::new()
                    } else {
                        format!("; {}", failures.join("; "))
                    }
                );
            }
            _ => {}
        }
        let waited = start.elapsed();
        if waited > OPERATION_BOUND {
            step.failed();
            bail!(
                "StackSets operation {operation} on {name} still runs after {} minutes: it goes on in AWS; run `login-alert apply` again later",
                waited.as_secs() / 60
            );
        }
        let failed = found
            .status_details
            .and_then(|d| d.failed_stack_instances_count)
            .unwrap_or(0);
        step.update(format!(
            "stack instances: {}, {failed} failed so far ({}s)",
            found
                .status
                .map(|s| s.as_str().to_lowercase())
                .unwrap_or_else(|| "queued".into()),
            waited.as_secs()
        ));
        tokio::time::sleep(delay).await;
        delay = (delay * 2).min(Duration::from_secs(15));
    }
}

/// Every failed account × region of an operation, with CloudFormation's reason.
async fn failures(ctx: &Ctx, name: &str, operation: &str, delegated: bool) -> Result<Vec<String>> {
    let mut pages = ctx
        .clients
        .cloudformation
        .list_stack_set_operation_results()
        .stack_set_name(name)
        .operation_id(operation)
        .call_as(call_as(delegated))
        .into_paginator()
        .send();
    let mut failed = Vec::new();
    while let Some(page) = pages.next().await {
        let page = page.doing(|| format!("listing the results of operation {operation}"))?;
        for result in page.summaries.unwrap_or_default() {
            if result
                .status
                .as_ref()
                .is_some_and(|s| s.as_str() == "FAILED")
            {
                failed.push(format!(
                    "account {} in {}: {}",
                    result.account.unwrap_or_default(),
                    result.region.unwrap_or_default(),
                    result
                        .status_reason
                        .unwrap_or_else(|| "no reason given".into())
                ));
            }
        }
    }
    Ok(failed)
}
