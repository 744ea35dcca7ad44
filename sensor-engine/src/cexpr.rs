//! A rule's condition compiled for evaluation: the IR's expression tree
//! with buffer chains compiled ([`CBufferMatch`]) and cheap field tests
//! ordered before buffer matches in conjunctions.

use sensor_rules::ir::{Expr, FieldTest, Predicate};

use crate::chain::CBufferMatch;
use crate::error::BuildError;
use crate::input::Input;
use crate::regexes::{RegexCaches, Regexes};

/// A compiled condition.
#[derive(Debug)]
pub(crate) enum CExpr {
    True,
    And(Box<[CExpr]>),
    Or(Box<[CExpr]>),
    Not(Box<CExpr>),
    Buffer(CBufferMatch),
    Field(FieldTest),
}

impl CExpr {
    pub(crate) fn compile(e: &Expr, regexes: &mut Regexes) -> Result<CExpr, BuildError> {
        Ok(match e {
            Expr::True => CExpr::True,
            Expr::And(v) => {
                let mut parts = v
                    .iter()
                    .map(|e| CExpr::compile(e, regexes))
                    .collect::<Result<Vec<_>, _>>()?;
                // Evaluation order does not change the result (no side
                // effects); field tests are the cheapest, so first.
                parts.sort_by_key(|p| !matches!(p, CExpr::Field(_)));
                CExpr::And(parts.into())
            }
            Expr::Or(v) => CExpr::Or(
                v.iter()
                    .map(|e| CExpr::compile(e, regexes))
                    .collect::<Result<Vec<_>, _>>()?
                    .into(),
            ),
            Expr::Not(e) => CExpr::Not(Box::new(CExpr::compile(e, regexes)?)),
            Expr::Predicate(Predicate::Buffer(b)) => {
                CExpr::Buffer(CBufferMatch::compile(b, regexes)?)
            }
            Expr::Predicate(Predicate::Field(f)) => CExpr::Field(f.clone()),
        })
    }

    pub(crate) fn eval<I: Input + ?Sized>(
        &self,
        input: &I,
        regexes: &Regexes,
        caches: &mut RegexCaches,
    ) -> bool {
        match self {
            CExpr::True => true,
            CExpr::And(v) => v.iter().all(|e| e.eval(input, regexes, caches)),
            CExpr::Or(v) => v.iter().any(|e| e.eval(input, regexes, caches)),
            CExpr::Not(e) => !e.eval(input, regexes, caches),
            CExpr::Buffer(b) => b.eval(input, regexes, caches),
            CExpr::Field(f) => crate::fields::eval(f, input),
        }
    }
}
