//! The one place the server names the store crate, so its API is adapted here only.
pub use gridmap_store::{
    Applied, Change, ChangeBatch, ChangeOp, Edit, Page, Query, Store, StoreError,
};
