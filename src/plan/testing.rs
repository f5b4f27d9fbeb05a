//! What the unit tests of plans share (test builds only): the account and region every test
//! plans in, and an empty plan in a given mode.

use super::{Mode, Plan};

/// The account every unit test plans for.
pub const ACCOUNT: &str = "123456789012";
/// The region every unit test plans in (a plan's region is only shown, never planned by).
pub const REGION: &str = "eu-west-1";

/// An empty plan in `mode` for the test account and region.
pub fn test_plan<O>(mode: Mode) -> Plan<O> {
    Plan::new(mode, ACCOUNT, REGION)
}

/// The plan in `mode` that `plan_into` leaves, starting from [`test_plan`].
pub fn planned<O>(mode: Mode, plan_into: impl FnOnce(&mut Plan<O>)) -> Plan<O> {
    let mut plan = test_plan(mode);
    plan_into(&mut plan);
    plan
}
