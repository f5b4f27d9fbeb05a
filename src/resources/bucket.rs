//! STUB — being written (see resources/mod.rs for the module shape).

use anyhow::Result;
use serde::Serialize;

use super::{Ctx, Target};
use crate::plan::Plan;

#[derive(Debug, Clone, PartialEq)]
pub struct Current {}

#[derive(Debug, Clone, PartialEq)]
pub struct Desired {}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "op", rename_all = "kebab-case")]
pub enum Op {}

pub async fn read(_ctx: &Ctx, _name: &str) -> Result<Option<Current>> {
    Ok(None)
}

pub fn desired(_t: &Target) -> Desired {
    Desired {}
}

pub fn plan_apply(_current: Option<&Current>, _desired: &Desired, _plan: &mut Plan) {}

pub fn plan_destroy(_current: Option<&Current>, _plan: &mut Plan) {}

pub async fn execute(_ctx: &Ctx, op: &Op) -> Result<()> {
    match *op {}
}
