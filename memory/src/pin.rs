//! The shared budget that pinned (mlocked) bytes are charged to, the
//! user-space counterpart of the kernel's `locked_vm` against `RLIMIT_MEMLOCK`.

use crate::MemoryError;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

#[derive(Debug)]
struct BudgetInner {
    limit_bytes: u64,
    used_bytes: AtomicU64,
}

/// A thread-safe budget of pinnable bytes shared by many memories. Bytes are
/// charged *before* the `mlock` system call and given back when it fails or
/// when the pages are unlocked. Cloning shares the budget.
#[derive(Clone, Debug)]
pub struct PinBudget {
    inner: Arc<BudgetInner>,
}

impl PinBudget {
    /// A budget allowing at most `limit_bytes` pinned bytes in total.
    pub fn new(limit_bytes: u64) -> PinBudget {
        PinBudget {
            inner: Arc::new(BudgetInner {
                limit_bytes,
                used_bytes: AtomicU64::new(0),
            }),
        }
    }

    /// Bytes currently charged.
    pub fn used(&self) -> u64 {
        self.inner.used_bytes.load(Ordering::Acquire)
    }

    /// The budget's limit in bytes.
    pub fn limit(&self) -> u64 {
        self.inner.limit_bytes
    }

    /// Whether two optional budgets are the same shared budget (or both absent).
    pub(crate) fn same(a: Option<&PinBudget>, b: Option<&PinBudget>) -> bool {
        match (a, b) {
            (Some(a), Some(b)) => Arc::ptr_eq(&a.inner, &b.inner),
            (None, None) => true,
            _ => false,
        }
    }

    /// Charges `bytes`, or fails without charging anything if that would pass the limit.
    pub(crate) fn charge(&self, bytes: u64) -> Result<(), MemoryError> {
        let limit = self.inner.limit_bytes;
        self.inner
            .used_bytes
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |used| {
                used.checked_add(bytes).filter(|total| *total <= limit)
            })
            .map(|_| ())
            .map_err(|used| MemoryError::PinBudgetExceeded {
                requested_bytes: bytes,
                used_bytes: used,
                limit_bytes: limit,
            })
    }

    /// Gives back `bytes` previously charged.
    pub(crate) fn release(&self, bytes: u64) {
        let previous = self.inner.used_bytes.fetch_sub(bytes, Ordering::AcqRel);
        debug_assert!(previous >= bytes, "pin budget released more than charged");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn charges_up_to_the_limit_and_refuses_beyond() {
        let budget = PinBudget::new(100);
        budget.charge(60).unwrap();
        let shared = budget.clone();
        match shared.charge(41) {
            Err(MemoryError::PinBudgetExceeded {
                requested_bytes: 41,
                used_bytes: 60,
                limit_bytes: 100,
            }) => {}
            other => panic!("unexpected {other:?}"),
        }
        assert_eq!(budget.used(), 60, "a refused charge charges nothing");
        shared.charge(40).unwrap();
        assert_eq!(budget.used(), 100);
        budget.release(100);
        assert_eq!(shared.used(), 0);
        assert_eq!(shared.limit(), 100);
    }

    #[test]
    fn huge_charges_do_not_wrap() {
        let budget = PinBudget::new(u64::MAX);
        budget.charge(10).unwrap();
        assert!(budget.charge(u64::MAX).is_err());
        assert_eq!(budget.used(), 10);
    }
}
