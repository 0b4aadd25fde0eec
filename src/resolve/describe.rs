//! `describe`'s request.

use super::Klanker;
use super::ResolveError as Error;
use crate::cli::{DescribeArgs, ReportOutput};
use crate::trust::validate;

#[derive(Debug, Clone)]
pub struct DescribeRequest {
    pub name: String,
    pub klanker: Klanker,
    pub output: ReportOutput,
}

pub fn resolve(args: &DescribeArgs) -> Result<DescribeRequest, Error> {
    validate::registry_name(&args.name).map_err(|mut e| {
        e.input = "NAME".into();
        e
    })?;
    Ok(DescribeRequest {
        name: args.name.clone(),
        klanker: Klanker::resolve(&args.aws)?,
        output: args.output,
    })
}
