//! `verify`'s request.

use super::Klanker;
use crate::cli::{ReportOutput, VerifyArgs};
use crate::error::Error;
use crate::trust::validate;

#[derive(Debug, Clone)]
pub struct VerifyRequest {
    pub name: String,
    pub klanker: Klanker,
    pub output: ReportOutput,
}

pub fn resolve(args: &VerifyArgs) -> Result<VerifyRequest, Error> {
    validate::registry_name(&args.name).map_err(|mut e| {
        e.input = "NAME".into();
        e
    })?;
    Ok(VerifyRequest {
        name: args.name.clone(),
        klanker: Klanker::resolve(&args.aws)?,
        output: args.output,
    })
}
