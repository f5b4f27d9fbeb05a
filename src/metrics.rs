//! Sums of CloudWatch metrics over a recent window: what `status` learns of how the function fared.

use std::time::{Duration, SystemTime};

use anyhow::Result;
use aws_sdk_cloudwatch::types::{Dimension, Metric, MetricDataQuery, MetricStat};
use aws_smithy_types::DateTime;

use crate::aws::SdkResultExt;
use crate::model::Ctx;
use crate::policy::Grant;

/// What [`sums`] calls: GetMetricData, which IAM authorizes on no resource type.
pub fn permissions() -> Vec<Grant> {
    vec![Grant::anywhere(["cloudwatch:GetMetricData"])]
}

/// The sum of each of `metrics` (in `namespace`, for one `dimension`) over the last `window`, in
/// the order given; a metric with no datapoints sums to 0.
pub async fn sums(
    ctx: &Ctx,
    namespace: &str,
    metrics: &[&str],
    dimension: (&str, &str),
    window: Duration,
) -> Result<Vec<f64>> {
    sums_with(
        &ctx.clients.cloudwatch,
        namespace,
        metrics,
        dimension,
        window,
    )
    .await
}

/// [`sums`] through `cloudwatch`, which may be another region's client.
pub async fn sums_with(
    cloudwatch: &aws_sdk_cloudwatch::Client,
    namespace: &str,
    metrics: &[&str],
    dimension: (&str, &str),
    window: Duration,
) -> Result<Vec<f64>> {
    let end = SystemTime::now();
    let start = end - window;
    let queries: Vec<MetricDataQuery> = metrics
        .iter()
        .enumerate()
        .map(|(i, metric)| {
            MetricDataQuery::builder()
                .id(format!("m{i}"))
                .metric_stat(
                    MetricStat::builder()
                        .metric(
                            Metric::builder()
                                .namespace(namespace)
                                .metric_name(*metric)
                                .dimensions(
                                    Dimension::builder()
                                        .name(dimension.0)
                                        .value(dimension.1)
                                        .build(),
                                )
                                .build(),
                        )
                        .period(3600)
                        .stat("Sum")
                        .build(),
                )
                .return_data(true)
                .build()
        })
        .collect();
    let mut totals = vec![0.0; metrics.len()];
    let mut pages = cloudwatch
        .get_metric_data()
        .set_metric_data_queries(Some(queries))
        .start_time(DateTime::from(start))
        .end_time(DateTime::from(end))
        .into_paginator()
        .send();
    while let Some(page) = pages.next().await {
        let page = page.doing(|| format!("reading CloudWatch metrics {}", metrics.join(", ")))?;
        for result in page.metric_data_results.unwrap_or_default() {
            let index = result
                .id
                .as_deref()
                .and_then(|id| id.strip_prefix('m'))
                .and_then(|i| i.parse::<usize>().ok());
            if let Some(total) = index.and_then(|i| totals.get_mut(i)) {
                *total += result.values.unwrap_or_default().iter().sum::<f64>();
            }
        }
    }
    Ok(totals)
}
